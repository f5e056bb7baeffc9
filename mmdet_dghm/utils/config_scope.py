"""The ``mmdet_dghm::`` config scope.

mmengine resolves ``_base_ = 'PACKAGE::path.py'`` only for packages in its table
``MODULE2PACKAGE`` (module name -> distribution name), and looks the file up in the package's
``.mim/configs`` folder. Importing ``mmdet_dghm`` adds it to that table, so a config loaded
after the import (``tools/train.py`` and ``tools/test.py`` import the plugin first, configs
name it in ``custom_imports``) can inherit the configs shipped with the package.

mmengine 0.10 finds a package's folder from its distribution's location
(``get_installed_path``: the folder holding the ``.dist-info``). That is the package's folder
for a wheel, but not for an editable install (``pip install -e``, which ``make setup`` makes):
the metadata sits in site-packages, the package in the checkout, and mmengine looks for
``site-packages/mmdet_dghm/.mim``, which does not exist. The scope therefore resolves to the
folder this package was imported from, the same folder as mmengine's in a wheel; an editable
install links ``.mim`` into it (``setup.py``).
"""
import os.path as osp

import mmengine.config.config as mmengine_config
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.utils import get_installed_path

SCOPE = 'mmdet_dghm'
DISTRIBUTION = 'mmdet-dghm'
#: The folder of the imported ``mmdet_dghm`` package (holding ``.mim/``).
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def installed_path(package: str) -> str:
    """mmengine's ``get_installed_path``, with :data:`DISTRIBUTION` at :data:`PACKAGE_DIR`.

    Args:
        package (str): A distribution name, as mmengine passes it.

    Returns:
        str: The folder of the package.
    """
    if package == DISTRIBUTION:
        return PACKAGE_DIR
    return get_installed_path(package)


def register_config_scope() -> None:
    """Let mmengine resolve ``mmdet_dghm::`` config paths (idempotent).

    Other packages' scopes (``mmdet::``) resolve as mmengine resolves them.
    """
    MODULE2PACKAGE.setdefault(SCOPE, DISTRIBUTION)
    mmengine_config.get_installed_path = installed_path


__all__ = ['register_config_scope', 'installed_path']
