"""Fixtures of the tool tests: the user commands of ``tools/`` imported as modules."""
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

TOOLS = Path(__file__).resolve().parents[2] / 'tools'


@pytest.fixture(scope='session')
def load_tool() -> Callable[[str], ModuleType]:
    """Imports ``tools/<name>.py`` under a unique module name (``test`` is a stdlib package);
    the scripts are not a package, so they are loaded from their file."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f'mmdet_dghm_tool_{name}',
                                                      TOOLS / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
