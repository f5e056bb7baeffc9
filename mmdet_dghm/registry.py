"""The ``mmdet_dghm`` registry scope: one child of each of mmdet's registries.

The plugin registers its modules into mmdet's registries (``default_scope='mmdet'`` configs
find them). A config that inherits ``mmdet_dghm::...`` gets ``_scope_='mmdet_dghm'`` on its
dicts, and mmengine then looks for ``mmdet_dghm.registry``: these children resolve every name
through their mmdet parent, so such configs build exactly like ``mmdet`` ones.
"""
from mmdet import registry as mmdet_registry
from mmengine.registry import Registry

from .utils.config_scope import SCOPE


def _child(parent: Registry) -> Registry:
    # Importing the package registers all its modules (into the mmdet parents).
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=[SCOPE])


RUNNERS = _child(mmdet_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(mmdet_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(mmdet_registry.LOOPS)
HOOKS = _child(mmdet_registry.HOOKS)
DATASETS = _child(mmdet_registry.DATASETS)
DATA_SAMPLERS = _child(mmdet_registry.DATA_SAMPLERS)
TRANSFORMS = _child(mmdet_registry.TRANSFORMS)
MODELS = _child(mmdet_registry.MODELS)
MODEL_WRAPPERS = _child(mmdet_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(mmdet_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(mmdet_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(mmdet_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(mmdet_registry.PARAM_SCHEDULERS)
METRICS = _child(mmdet_registry.METRICS)
EVALUATOR = _child(mmdet_registry.EVALUATOR)
TASK_UTILS = _child(mmdet_registry.TASK_UTILS)
VISUALIZERS = _child(mmdet_registry.VISUALIZERS)
VISBACKENDS = _child(mmdet_registry.VISBACKENDS)
LOG_PROCESSORS = _child(mmdet_registry.LOG_PROCESSORS)

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS',
    'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS'
]
