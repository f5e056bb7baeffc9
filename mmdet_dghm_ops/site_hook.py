"""The ``.pth`` file that installs :mod:`mmdet_dghm_ops.finder` at interpreter start-up.

Python runs ``import`` lines of ``*.pth`` files in site-packages when it starts, before any user
code, so ``mmcv._ext`` resolves whichever of mmdet, mmcv or this plugin is imported first. The
line does nothing if this package has been uninstalled.
"""
import sysconfig
from pathlib import Path
from typing import Optional

PTH_NAME = 'mmdet_dghm_ops.pth'
PTH_LINE = ("import importlib.util as _u; _u.find_spec('mmdet_dghm_ops') and "
            "__import__('mmdet_dghm_ops.finder').finder.install()\n")


def site_dir(path: Optional[str] = None) -> Path:
    """The site-packages folder to use: ``path``, else this interpreter's purelib."""
    return Path(path or sysconfig.get_paths()['purelib'])


def enable(path: Optional[str] = None) -> Path:
    """Write the ``.pth`` file into ``path`` (default: this environment's site-packages).

    Returns:
        Path: The file written.
    """
    pth = site_dir(path) / PTH_NAME
    pth.write_text(PTH_LINE)
    return pth


def disable(path: Optional[str] = None) -> Optional[Path]:
    """Remove the ``.pth`` file from ``path``; the removed file, or None if there was none."""
    pth = site_dir(path) / PTH_NAME
    if not pth.is_file():
        return None
    pth.unlink()
    return pth
