"""Shared fixtures. Sub-folders keep their own conftest.py for fixtures only they use."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def digestpath_root() -> Path:
    """The real DigestPath2019 copy named by DIGESTPATH_ROOT; skips the test when absent."""
    root = os.environ.get("DIGESTPATH_ROOT")
    if not root:
        pytest.skip("DIGESTPATH_ROOT is not set: real DigestPath2019 data is not available")
    if not Path(root).is_dir():
        pytest.skip(f"DIGESTPATH_ROOT={root} is not a folder")
    return Path(root)
