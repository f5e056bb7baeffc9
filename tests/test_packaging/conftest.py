"""Fixtures of the packaging tests."""
from pathlib import Path

import pytest
from checkout_copy import copy_checkout
from editable_env import make_editable_env


@pytest.fixture(scope='session')
def editable_env(tmp_path_factory, repo_root) -> Path:
    """The python of a fresh environment holding an editable install of a checkout copy."""
    work = tmp_path_factory.mktemp('editable')
    return make_editable_env(copy_checkout(repo_root, work / 'source'), work)
