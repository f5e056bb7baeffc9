"""Import a script of tools/ as a module (the tools are scripts, not a package)."""
import importlib.util
from pathlib import Path
from types import ModuleType

TOOLS = Path(__file__).resolve().parents[2] / 'tools'


def load_tool(name: str) -> ModuleType:
    """Imports tools/<name>.py under a unique module name (``test`` is a stdlib package)."""
    spec = importlib.util.spec_from_file_location(f'mmdet_dghm_tool_{name}',
                                                  TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
