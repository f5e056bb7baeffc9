"""The product boundary: the installable package's import graph (self-contained, nothing runs
upward, test fixtures above the library), ``tools/`` as the user's commands, ``datasets/`` as
datasets, and no ``sys.path`` manipulation in any tracked file."""
import ast
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / 'mmdet_dghm'
MODULES = sorted(p for p in PACKAGE.rglob('*.py') if '.mim' not in p.parts)
#: Layers that may not import the ones listed (they sit below them). ``testing`` (synthetic
#: data for tests, the demo and the benchmarks) sits above every library layer.
BELOW = {
    'fileio': ('apis', 'datasets', 'evaluation', 'models', 'engine', 'structures', 'testing'),
    'structures': ('apis', 'datasets', 'evaluation', 'models', 'engine', 'testing'),
    'datasets': ('apis', 'evaluation', 'engine', 'testing'),
    'evaluation': ('apis', 'engine', 'testing'),
    'models': ('apis', 'datasets', 'evaluation', 'engine', 'testing'),
    'apis': ('engine', 'testing'),
    'engine': ('apis', 'testing'),
    'utils': ('apis', 'datasets', 'evaluation', 'models', 'engine', 'structures', 'testing'),
}
#: What a user runs: set-up (online or from a wheel folder), train / test / infer, distributed
#: and Slurm training and inference, a synthetic data set, the demo and the one benchmark entry
#: point.
USER_COMMANDS = {
    'tools/setup_env.sh', 'tools/make_wheelhouse.sh', 'tools/train.py', 'tools/test.py',
    'tools/infer.py', 'tools/dist_train.sh', 'tools/slurm_train.sh', 'tools/dist_infer.sh',
    'tools/slurm_infer.sh', 'tools/make_synthetic.py', 'tools/demo.sh', 'tools/benchmark.sh',
    'tools/export_detector.py', 'tools/pseudo_label.py', 'tools/mark_partial.py',
    'tools/pu_prior.py'
}
#: The registries whose members make a module of ``datasets/`` a dataset module.
DATA_REGISTRIES = {'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS'}


def _tracked(*patterns: str):
    """Tracked files of the checkout matching ``patterns`` (git pathspecs), as paths."""
    out = subprocess.run(['git', 'ls-files', '--', *patterns], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return [REPO / line for line in out.splitlines()]


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


def test_testing_layer_exists_and_is_above_the_library():
    # The fixtures live where mmdet keeps its own (mmdet/testing), not among the datasets.
    assert (PACKAGE / 'testing' / '__init__.py').is_file()
    assert not list((PACKAGE / 'datasets').glob('*synthetic*'))


def test_tools_holds_only_user_commands():
    tracked = {str(p.relative_to(REPO)) for p in _tracked('tools/')}
    assert tracked == USER_COMMANDS


def _changes_sys_path(tree: ast.AST) -> bool:
    """Whether a module calls a method of ``sys.path`` or assigns to it."""
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            target = next((t for t in targets if isinstance(t, ast.Attribute)), None)
        if (isinstance(target, ast.Attribute) and target.attr == 'path'
                and isinstance(target.value, ast.Name) and target.value.id == 'sys'):
            return True
    return False


def test_no_tracked_file_changes_sys_path():
    assert _changes_sys_path(ast.parse('import sys\nsys.path.insert(0, "x")'))
    assert _changes_sys_path(ast.parse('import sys\nsys.path += ["x"]'))
    assert not _changes_sys_path(ast.parse('import sys\nprint(sys.path[0])'))
    offenders = [str(p.relative_to(REPO)) for p in _tracked('*.py')
                 if p.is_file() and _changes_sys_path(ast.parse(p.read_text()))]
    assert offenders == []


def _registers_data_module(tree: ast.AST) -> bool:
    """Whether a module registers a class in one of :data:`DATA_REGISTRIES`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for deco in node.decorator_list:
                func = deco.func if isinstance(deco, ast.Call) else deco
                if (isinstance(func, ast.Attribute) and func.attr == 'register_module'
                        and isinstance(func.value, ast.Name)
                        and func.value.id in DATA_REGISTRIES):
                    return True
    return False


def test_datasets_holds_datasets_only():
    """Every module of ``datasets/`` registers a dataset, transform or sampler, or is imported
    by one that does (layout names, folds, VOC files): nothing there serves anything else."""
    folder = PACKAGE / 'datasets'
    modules = {p: ast.parse(p.read_text()) for p in folder.rglob('*.py')
               if p.name != '__init__.py'}
    users = {p: set() for p in modules}
    for path, tree in modules.items():
        for name, _ in _imports(path):
            for other in modules:
                dotted = '.'.join(other.relative_to(PACKAGE.parent).with_suffix('').parts)
                if name == dotted or (name or '').startswith(dotted + '.'):
                    users[other].add(path)
    reached = {p for p, tree in modules.items() if _registers_data_module(tree)}
    assert PACKAGE / 'datasets' / 'digestpath.py' in reached
    frontier = set(reached)
    while frontier:
        frontier = {p for p in modules if p not in reached and users[p] & reached}
        reached |= frontier
    assert sorted(str(p.relative_to(folder)) for p in set(modules) - reached) == []


def test_status_keys_and_their_validation_are_defined_once():
    """Only ``structures/annotation_status.py`` spells the metainfo keys or checks ``partial``."""
    home = PACKAGE / 'structures' / 'annotation_status.py'
    spelled = [p.relative_to(REPO).as_posix() for p in MODULES if p != home
               and any(isinstance(node, ast.Constant) and node.value in (
                   'partially_annotated', 'partial_labels')
                   for node in ast.walk(ast.parse(p.read_text())))]
    assert spelled == []
    checks = [p.relative_to(REPO).as_posix() for p in MODULES if p != home
              and 'partial must have shape' in p.read_text()]
    assert checks == []
