"""mmdet-dghm: Decoupled Gradient Harmonizing Mechanism (DGHM-C) for MMDetection 3.x.

Importing the package registers every module it defines (losses, heads, datasets, transforms,
samplers, metrics) into mmdet's registries, so configs only need
``custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)``.
"""
from .utils import allow_mmengine_checkpoint_globals, register_config_scope
from .version import __version__

allow_mmengine_checkpoint_globals()
register_config_scope()

from . import apis, datasets, engine, evaluation, fileio, models, structures  # noqa: E402,F401

__all__ = ['__version__', 'allow_mmengine_checkpoint_globals', 'register_config_scope']
