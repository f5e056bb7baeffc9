from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .config_scope import register_config_scope

__all__ = ['allow_mmengine_checkpoint_globals', 'register_config_scope']
