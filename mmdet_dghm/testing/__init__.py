"""Generated inputs shared by tests, the demo and experiments (mmdet's ``mmdet/testing``).

Nothing in the library imports this package; it builds on :mod:`mmdet_dghm.datasets`'
layout names only.
"""
from .synthetic import *  # noqa: F401,F403
from .synthetic import __all__

__all__ = list(__all__)
