"""The loss-comparison benchmark (paper Tables 3 and 4): profiles, runs, matrix, report and
gradient-norm histograms. Imported by ``tools/benchmark.py`` and ``tools/grad_histogram.py``
only; it registers nothing."""
from .profiles import LOSSES, MISSING_RATES, PROFILES, Profile, get_profile
from .runs import RunSpec, build_run_config

__all__ = ['LOSSES', 'MISSING_RATES', 'PROFILES', 'Profile', 'get_profile', 'RunSpec',
           'build_run_config']
