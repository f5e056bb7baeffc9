"""A copy of the checkout as a clean clone has it, for tests that build or install from it."""
import shutil
import subprocess
from pathlib import Path

import pytest


def checkout_files(repo: Path) -> list:
    """Tracked and untracked-but-not-ignored files: what a clean clone builds from."""
    out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                         cwd=repo, capture_output=True, check=True).stdout
    return [name for name in out.decode().split('\0') if name and (repo / name).is_file()]


def copy_checkout(repo: Path, dest: Path) -> Path:
    """Copy :func:`checkout_files` of ``repo`` into ``dest``; skips the test without git.

    Builds write into the source tree (``build/``, ``mmdet_dghm/.mim/``, ``*.egg-info``), so a
    test builds from the copy and leaves the checkout as it is.
    """
    if shutil.which('git') is None:
        pytest.skip('git is needed to list the checkout')
    for name in checkout_files(repo):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, dest / name)
    return dest
