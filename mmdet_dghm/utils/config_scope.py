"""The ``mmdet_dghm::`` config scope.

mmengine resolves ``_base_ = 'PACKAGE::path.py'`` only for packages in its table
``MODULE2PACKAGE`` (module name -> distribution name), and looks the file up in the installed
package's ``.mim/configs`` folder. Importing ``mmdet_dghm`` adds it to that table, so a config
loaded after the import (``tools/train.py`` and ``tools/test.py`` import the plugin first) can
inherit the configs shipped in the wheel.
"""
from mmengine.config.utils import MODULE2PACKAGE

SCOPE = 'mmdet_dghm'
DISTRIBUTION = 'mmdet-dghm'


def register_config_scope() -> None:
    """Let mmengine resolve ``mmdet_dghm::`` config paths (idempotent)."""
    MODULE2PACKAGE.setdefault(SCOPE, DISTRIBUTION)


__all__ = ['register_config_scope']
