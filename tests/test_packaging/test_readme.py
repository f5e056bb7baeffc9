"""The README's configs and quick start A, run as written in the environment ``make`` builds.

Every config the README shows (its ``_base_`` blocks, the ``configs/`` files and the
``mmdet_dghm::`` configs it names) is loaded and its model built; quick start A's commands
mark a tiny COCO json and train its config for two iterations, with the network shrunk on the
command line. Both run in a fresh editable install (:mod:`editable_env`), where mmengine alone
would look for ``mmdet_dghm::`` configs in site-packages and not find them.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

QUICK_START_SCOPE = "'mmdet_dghm::partial_coco/"
#: Quick start A's RetinaNet at ResNet-18 width 8, 64 px images, one epoch of two iterations.
SHRINK = ['model.backbone.depth=18', 'model.backbone.base_channels=8',
          'model.backbone.init_cfg=None', 'model.neck.in_channels=[8,16,32,64]',
          'model.neck.out_channels=16', 'model.bbox_head.in_channels=16',
          'model.bbox_head.feat_channels=16', 'model.bbox_head.stacked_convs=1',
          'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
          'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
          'val_dataloader.persistent_workers=False',
          'train_dataloader.dataset.pipeline.2.scale=(64,64)',
          'val_dataloader.dataset.pipeline.1.scale=(64,64)', 'train_cfg.max_epochs=1',
          'default_hooks.logger.interval=1', 'randomness.seed=0']

BUILD = """import json, sys
import mmdet_dghm
print(mmdet_dghm.__file__)
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet_dghm.models.status_aware_head import StatusAwareHeadMixin

init_default_scope('mmdet')
out = {}
for path in sys.argv[2:]:
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    heads = sorted(type(m).__name__ for m in model.modules() if isinstance(m, StatusAwareHeadMixin))
    losses = sorted({type(m.loss_cls).__name__ for m in model.modules()
                     if isinstance(m, StatusAwareHeadMixin) and hasattr(m, 'loss_cls')})
    dataset = cfg.train_dataloader.dataset
    classes = dataset.get('metainfo', {}).get('classes')
    out[path] = dict(heads=heads, losses=losses, dataset=dataset.type,
                     ann_file=dataset.get('ann_file'), classes=classes)
json.dump(out, open(sys.argv[1], 'w'))
"""


def readme(repo_root: Path) -> str:
    return (repo_root / 'README.md').read_text()


def blocks(text: str, language: str) -> list:
    return re.findall(rf'```{language}\n(.*?)```', text, re.S)


def config_blocks(text: str) -> list:
    return [b for b in blocks(text, 'python') if '_base_' in b]


def commands(text: str, prefix: str) -> list:
    """The shell commands of the README's bash blocks that start with ``prefix``."""
    found = []
    for block in blocks(text, 'bash'):
        for command in block.replace('\\\n', ' ').splitlines():
            command = command.split('  #')[0].strip()
            if command.startswith(prefix):
                found.append(shlex.split(command))
    return found


def run(python: Path, args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)  # the editable install, not this checkout
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_readme_shows_two_quick_starts_and_its_paths_and_links_exist(repo_root):
    text = readme(repo_root)
    configs = config_blocks(text)
    assert [QUICK_START_SCOPE in block for block in configs].count(True) == 1
    assert any("'mmdet::" in block and 'Decoupled' in block for block in configs)
    for path in re.findall(r'(?<![\w/])((?:configs|tools|docs|benchmarks)/[\w./-]*\w)', text):
        assert (repo_root / path).exists(), path
    for page in [repo_root / 'README.md', *sorted((repo_root / 'docs').glob('*.md'))]:
        for link in re.findall(r'\]\(([^)#]+)', page.read_text()):
            assert link.startswith('https://') or (page.parent / link).exists(), (page, link)


@pytest.mark.slow
def test_every_readme_config_builds_in_the_editable_install(editable_env, tmp_path, repo_root):
    text = readme(repo_root)
    source = editable_env.parents[2] / 'source'
    paths = []
    for index, block in enumerate(config_blocks(text)):
        paths.append(tmp_path / f'readme_block_{index}.py')
        paths[-1].write_text(block)
    for index, scoped in enumerate(sorted(set(re.findall(r'mmdet_dghm::[\w./-]+\.py', text)))):
        paths.append(tmp_path / f'readme_scoped_{index}.py')
        paths[-1].write_text(f'_base_ = {scoped!r}\n')
    paths += sorted({source / p for p in re.findall(r'(?<![\w/])configs/[\w./-]+\.py', text)})
    proc = run(editable_env, ['-c', BUILD, str(tmp_path / 'built.json'), *map(str, paths)],
               tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    # Editable: the package stays in the checkout, its .mim links to the checkout's configs.
    assert Path(proc.stdout.splitlines()[0]).is_relative_to(source)
    built = json.loads((tmp_path / 'built.json').read_text())
    assert len(built) == len(paths) >= 6
    for path, model in built.items():
        assert model['heads'], f'{path}: no status-aware head'
    quick_start = next(built[str(p)] for p in paths[:len(config_blocks(text))]
                       if QUICK_START_SCOPE in p.read_text())
    assert quick_start == dict(heads=['DecoupledRetinaHead'], losses=['PULoss'],
                               dataset='PartialCocoDataset', ann_file='train_partial.json',
                               classes=['tumour', 'lymphocyte'])


@pytest.mark.slow
def test_quick_start_a_marks_the_json_and_trains(editable_env, tiny_coco, repo_root):
    text = readme(repo_root)
    source = editable_env.parents[2] / 'source'
    # The user's data: data/mine/{images/, train.json, val.json} with the README's classes.
    ann = tiny_coco(num_images=4)
    coco = json.loads(ann.read_text())
    coco['categories'] = [dict(id=1, name='tumour'), dict(id=3, name='lymphocyte')]
    mine = source / 'data' / 'mine'
    shutil.copytree(ann.parent / 'images', mine / 'images')
    for name in ('train.json', 'val.json'):
        (mine / name).write_text(json.dumps(coco))
    (source / 'from_lab_b.txt').write_text('001.png\n')

    marks = commands(text, 'python tools/mark_partial.py')
    assert len(marks) == 2
    marked = []
    for command in marks:
        proc = run(editable_env, command[1:], source)
        assert proc.returncode == 0, proc.stderr[-3000:]
        images = json.loads((mine / 'train_partial.json').read_text())['images']
        marked.append([(image.get('partially_annotated'), image.get('partial_category_ids'))
                       for image in images])
    assert marked[0] == [(True, None)] * 4  # every image
    assert marked[1] == [(None, None), (None, [3]), (None, None), (None, None)]  # 001.png

    (config, ) = [b for b in config_blocks(text) if QUICK_START_SCOPE in b]
    (source / 'my_config.py').write_text(config)
    assert 'python tools/train.py my_config.py' in text
    proc = run(editable_env, ['tools/train.py', 'my_config.py', '--cfg-options', *SHRINK],
               source)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work_dir = source / 'work_dirs' / 'my_config'
    assert (work_dir / 'epoch_1.pth').is_file()
    (scalars, ) = work_dir.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    assert [r['iter'] for r in records if 'loss_cls' in r] == [1, 2]
    assert [r['step'] for r in records if 'iter' not in r] == [1]  # one validation, after epoch 1
    (log, ) = work_dir.glob('*/*.log')
    assert 'Epoch(val) [1][4/4]' in log.read_text()  # on val.json's four images
