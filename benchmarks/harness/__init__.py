"""The loss-comparison benchmark (paper Tables 3 and 4): profiles, runs, matrix, report and
gradient-norm histograms, behind ``python -m benchmarks`` and the measurements beside it (the
demo borrows its config helpers); it registers nothing."""
from .profiles import LOSSES, MISSING_RATES, PROFILES, Profile, get_profile
from .runs import RunSpec, build_run_config

__all__ = ['LOSSES', 'MISSING_RATES', 'PROFILES', 'Profile', 'get_profile', 'RunSpec',
           'build_run_config']
