"""The end-to-end demo: ``python -m demo`` (``make demo``, ``tools/demo.sh``)."""
from .pipeline import PROFILES, DemoProfile, build_demo_config, run_demo

__all__ = ['PROFILES', 'DemoProfile', 'build_demo_config', 'run_demo']
