"""A fresh environment with an editable install of a checkout copy, as ``make setup`` makes one.

``tools/setup_env.sh`` ends with ``pip install -e`` of the checkout; this does the same into a
new virtual environment, without a download: the packages the project needs come from this
environment, linked into a folder that a ``.pth`` file names (:func:`installed_dists.link_into`).
"""
import subprocess
import sys
from pathlib import Path

from installed_dists import installed, link_into, requirement_closure
from packaging.requirements import Requirement

from mmdet_dghm_ops import site_hook
from mmdet_dghm_ops.__main__ import status

BUILD = ('pip', 'setuptools', 'wheel')


def site_packages(python: Path) -> Path:
    """The site-packages folder of the interpreter ``python``."""
    out = subprocess.run([str(python), '-c',
                          'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                         capture_output=True, text=True, check=True).stdout
    return Path(out.strip())


def make_editable_env(source: Path, work: Path) -> Path:
    """``pip install -e source`` into a new environment under ``work``.

    Args:
        source (Path): A copy of the checkout (the install writes into it).
        work (Path): Folder for the environment and the linked packages.

    Returns:
        Path: The environment's python.
    """
    plugin = installed()['mmdet-dghm']
    roots = [line for line in plugin.requires or [] if Requirement(line).marker is None]
    mmcv = {'torch': 'mmcv-lite', 'compiled': 'mmcv'}[status()]
    stack = link_into(requirement_closure(roots + [mmcv, *BUILD]).values(), work / 'stack')
    venv = work / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True,
                   timeout=120)
    python = venv / 'bin' / 'python'
    site = site_packages(python)
    (site / 'stack.pth').write_text(f'{stack}\n')
    if status() == 'torch':  # mmcv-lite: the torch ops hook, as setup_env.sh writes it
        site_hook.enable(str(site))
    subprocess.run([str(python), '-m', 'pip', 'install', '--no-deps', '--no-build-isolation',
                    '--no-index', '-q', '-e', str(source)], check=True, timeout=300)
    return python
