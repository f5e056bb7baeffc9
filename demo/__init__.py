"""The end-to-end demo behind ``tools/demo.py`` (and ``make demo``)."""
from .pipeline import PROFILES, DemoProfile, build_demo_config, run_demo

__all__ = ['PROFILES', 'DemoProfile', 'build_demo_config', 'run_demo']
