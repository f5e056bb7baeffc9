from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .config_scope import register_config_scope
from .detector_export import detector_state_dict, plain_detector_config

__all__ = ['allow_mmengine_checkpoint_globals', 'detector_state_dict', 'plain_detector_config',
           'register_config_scope']
