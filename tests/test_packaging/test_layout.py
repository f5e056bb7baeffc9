"""The installable package's import graph: self-contained, nothing runs upward."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'mmdet_dghm'
MODULES = sorted(p for p in PACKAGE.rglob('*.py') if '.mim' not in p.parts)
#: Layers that may not import the ones listed (they sit below them).
BELOW = {
    'fileio': ('apis', 'datasets', 'evaluation', 'models', 'engine', 'structures'),
    'structures': ('apis', 'datasets', 'evaluation', 'models', 'engine'),
    'datasets': ('apis', 'evaluation', 'engine'),
    'evaluation': ('apis', 'engine'),
    'models': ('apis', 'datasets', 'evaluation', 'engine'),
}


def _imports(path: Path):
    """(module imported, absolute package part, inside a function?) of each import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    # A relative import of level 1 names the module's own package (for __init__ too).
    package = path.relative_to(PACKAGE.parent).parts[:-1]
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef,
                                                              ast.AsyncFunctionDef))
              for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in nested
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = '.'.join(base + ((node.module,) if node.module else ()))
            else:
                name = node.module
            yield name, id(node) in nested


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_downward(path):
    layer = path.relative_to(PACKAGE).parts[0]
    for name, in_function in _imports(path):
        top = name.split('.')[0]
        assert top not in ('tools', 'benchmarks', 'demo', 'tests'), (path, name)
        if top == 'mmdet_dghm':
            # No import tucked into a function to dodge a cycle.
            assert not in_function, (path, name)
            sub = name.split('.')[1] if name.count('.') else ''
            assert sub not in BELOW.get(layer, ()), f'{path} imports {name} (upward)'


def test_package_never_reads_the_checkout():
    for path in MODULES:
        text = path.read_text()
        assert 'parents[' not in text, path
        assert "'configs'" not in text and "'tools'" not in text, path
