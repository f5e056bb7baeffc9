"""Demo pipeline: data, DGHM-C training from scratch, evaluation, inference, a markdown report.

Each step uses the project's public pieces exactly as a user would: the synthetic generator,
the light DGHM-C config through mmengine's Runner, ``DigestPathMetric`` on whole images
stitched from tiles, and ``tools/infer.py`` on a held-out whole image.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from mmengine.config import Config

from benchmarks.harness.profiles import load_recipes
from benchmarks.harness.runs import set_crop_size, set_iter_schedule, set_loader_workers

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'configs' / 'digestpath' / 'retinanet_r18-light_fpn_dghmc_digestpath.py'
# A short from-scratch run scores true cells lower than a converged model: draw from 0.3 so the
# overlay shows what the FROC sweep counts near its 1-8 FPs-per-image operating points.
OVERLAY_SCORE_THR = 0.3
#: Micrometres per pixel of the demo's images (synthetic and real half-scale alike).
DATA_PIXEL_SIZE = 0.5


@dataclass(frozen=True)
class DemoProfile:
    """Size of a demo run.

    Attributes:
        num_pos, num_neg: Generated positive / negative images.
        images_per_slide: Generated images per slide (folds split by slide).
        image_size: Side of a generated image (px, at the generator's 0.5 scale).
        drop_rate: Share of each training image's boxes removed (simulated partial annotation).
        tile_size, tile_stride: Training tiles; crop: random crop of a tile.
        test_tile, test_stride: Overlapping tiles that cover the evaluated whole images.
        batch_size, iters, lr, warmup: Optimisation (Adam, linear warm-up, x0.1 at 75%, 90%).
        pos_fraction: Share of positive tiles in a mini-batch.
        num_workers: DataLoader workers.
    """

    num_pos: int
    num_neg: int
    image_size: int
    images_per_slide: int
    drop_rate: float
    tile_size: int
    tile_stride: int
    crop: int
    test_tile: int
    test_stride: int
    batch_size: int
    iters: int
    lr: float
    warmup: int
    pos_fraction: float
    num_workers: int


#: The demo's recipes (``demo/recipes/<name>.py``, fields of :class:`DemoProfile`).
PROFILES = load_recipes(Path(__file__).resolve().parent / 'recipes', DemoProfile)


def prepare_synthetic_data(root: Path, profile: DemoProfile, seed: int) -> Path:
    """Generate the demo's synthetic set once; a marker records the arguments used."""
    from mmdet_dghm.testing import generate_synthetic_digestpath

    spec = dict(num_pos=profile.num_pos, num_neg=profile.num_neg,
                image_size=profile.image_size, images_per_slide=profile.images_per_slide,
                seed=seed)
    marker = root / 'synthetic.json'
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        print(f'[demo] reusing generated data in {root}')
        return root
    print(f'[demo] generating synthetic DigestPath-like data in {root}: {spec}')
    generate_synthetic_digestpath(root, overwrite=True, progress=True, **spec)
    marker.write_text(json.dumps(spec))
    return root


def build_demo_config(work_dir: Path, data_root: Path, profile: DemoProfile, seed: int,
                      drop_rate: float) -> Config:
    """The light DGHM-C config sized by ``profile`` for ``data_root``."""
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = str(work_dir)
    # Both the synthetic images and the real half-scale split are at half the 40x scan's
    # resolution, read as they are (scale 1): the model sees DATA_PIXEL_SIZE um/px.
    cfg.pixel_size = DATA_PIXEL_SIZE
    common = dict(data_root=str(data_root), num_folds=4, fold=0, scale=1.0)
    train = cfg.train_dataloader
    train.batch_size = profile.batch_size
    set_loader_workers(train, profile.num_workers)
    train.batch_sampler.update(pos_fraction=profile.pos_fraction, seed=seed)
    train.dataset.update(common, tile_size=profile.tile_size, tile_stride=profile.tile_stride,
                         drop_rate=drop_rate, drop_seed=seed)
    set_crop_size(train.dataset.pipeline, profile.crop)
    val = cfg.val_dataloader
    set_loader_workers(val, profile.num_workers)
    val.dataset.update(common, tile_size=profile.test_tile, tile_stride=profile.test_stride,
                       split='val')
    cfg.test_dataloader = cfg.val_dataloader
    metric = dict(type='DigestPathMetric', outfile_prefix=str(work_dir / 'eval') + '/')
    cfg.val_evaluator = metric
    cfg.test_evaluator = metric
    set_iter_schedule(cfg, iters=profile.iters, lr=profile.lr, warmup_iters=profile.warmup,
                      warmup_start=0.01,
                      milestones=[int(profile.iters * 0.75), int(profile.iters * 0.9)],
                      grad_clip=10.0, log_interval=max(1, profile.iters // 35), log_window=20)
    cfg.randomness = dict(seed=seed)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'),
                       mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
    return cfg


def _held_out_positive_image(cfg: Config) -> Path:
    """A positive whole image of the validation fold (never seen in training)."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    dataset_cfg = cfg.val_dataloader.dataset.copy()
    dataset_cfg.pipeline = []
    dataset = DATASETS.build(dataset_cfg)
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        if info['partially_annotated'] and len(info['src_gt_bboxes']):
            return Path(info['src_img_path'])
    raise RuntimeError(f'the validation fold of {dataset_cfg.data_root} has no positive image')


def _learning_curve(work_dir: Path, out_png: Path) -> Optional[Path]:
    """Plot training losses from mmengine's ``scalars.json``."""
    logs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not logs:
        return None
    rows = [json.loads(line) for line in logs[-1].read_text().splitlines() if line.strip()]
    rows = [r for r in rows if 'loss' in r and 'iter' in r]
    if not rows:
        return None
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5, 3.2), dpi=100)
    ax = fig.add_subplot()
    for key in ('loss', 'loss_cls', 'loss_bbox'):
        ax.plot([r['iter'] for r in rows], [r[key] for r in rows], label=key)
    ax.set_xlabel('iteration')
    ax.set_ylabel('training loss')
    ax.set_yscale('log')
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png)
    return out_png


def _write_report(work_dir: Path, *, data_desc: str, profile: DemoProfile, metrics: dict,
                  train_s: float, infer_dir: Path, held_out: Path) -> Path:
    rel = lambda p: p.relative_to(work_dir).as_posix()  # noqa: E731
    keys = [k for k in ('froc', 'recall', 'precision', 'nfps', 'r_recall', 't_recall',
                        'num_pos_images', 'num_normal_images')
            if f'digestpath/{k}' in metrics]
    lines = ['# mmdet-dghm demo report', '',
             f'Light RetinaNet-R18 with DGHM-C trained from scratch on {data_desc}.', '',
             f'- training: {profile.iters} iterations, batch {profile.batch_size}, '
             f'{profile.crop} px crops of {profile.tile_size} px tiles, Adam lr {profile.lr}, '
             f'{train_s / 60:.1f} min',
             f'- evaluation: whole validation images stitched from {profile.test_tile} px '
             f'tiles (stride {profile.test_stride}), IoU 0.3', '',
             '| metric | value |', '|---|---|']
    lines += [f'| {k} | {metrics[f"digestpath/{k}"]:.4f} |' for k in keys]
    froc_png = work_dir / 'eval' / 'froc.png'
    curve = _learning_curve(work_dir, work_dir / 'learning_curve.png')
    overlays = sorted(infer_dir.glob('*overlay*.png'))
    lines.append('')
    if froc_png.is_file():
        lines += ['## FROC curve', '', f'![FROC]({rel(froc_png)})', '']
    if curve is not None:
        lines += ['## Learning curve', '', f'![learning curve]({rel(curve)})', '']
    lines += ['## Inference on a held-out whole image', '', f'Image: `{held_out}`', '']
    lines += [f'![overlay]({rel(p)})' for p in overlays]
    lines += ['', 'Outputs: ' + ', '.join(f'`{rel(p)}`' for p in sorted(infer_dir.iterdir())),
              '', '## Profile', '', '```json', json.dumps(asdict(profile), indent=1), '```']
    report = work_dir / 'report.md'
    report.write_text('\n'.join(lines) + '\n')
    return report


def run_demo(work_dir: Path, profile: str = 'default', data_root: Optional[str] = None,
             iters: Optional[int] = None, seed: int = 0) -> Path:
    """Run the demo end to end and return the path of its markdown report."""
    from mmengine.runner import Runner

    import mmdet_dghm  # noqa: F401  registers the plugin

    prof = PROFILES[profile]
    if iters is not None:
        prof = DemoProfile(**{**asdict(prof), 'iters': iters})
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / 'eval').mkdir(exist_ok=True)
    if data_root is None:
        root = prepare_synthetic_data(work_dir / 'data' / 'synthetic', prof, seed)
        drop_rate = prof.drop_rate
        data_desc = (f'generated synthetic data ({prof.num_pos} positive, {prof.num_neg} '
                     f'negative {prof.image_size} px images, {drop_rate:.0%} of the training '
                     'boxes removed to simulate partial annotation; evaluated on complete boxes)')
    else:
        root = Path(data_root)
        drop_rate = 0.0
        data_desc = f'the DigestPath data in `{root}` (its own partial annotation)'
    cfg = build_demo_config(work_dir, root, prof, seed, drop_rate)
    config_file = work_dir / 'demo_config.py'
    cfg.dump(str(config_file))

    print(f'[demo] training {CONFIG.name} for {prof.iters} iterations (work dir {work_dir})')
    runner = Runner.from_cfg(cfg)
    start = time.monotonic()
    runner.train()
    train_s = time.monotonic() - start
    print('[demo] evaluating on whole validation images')
    metrics = runner.test()
    checkpoint = work_dir / f'iter_{prof.iters}.pth'

    held_out = _held_out_positive_image(cfg)
    infer_dir = work_dir / 'inference'
    print(f'[demo] running tools/infer.py on held-out image {held_out.name}')
    subprocess.run([sys.executable, str(REPO / 'tools' / 'infer.py'), str(config_file),
                    str(checkpoint), str(held_out), '--out-dir', str(infer_dir),
                    '--tile-size', str(prof.test_tile),
                    '--overlap', str(prof.test_tile - prof.test_stride),
                    '--overlay-score-thr', str(OVERLAY_SCORE_THR),
                    '--pixel-size', str(DATA_PIXEL_SIZE)], check=True)
    (work_dir / 'metrics.json').write_text(json.dumps(metrics, indent=1))
    return _write_report(work_dir, data_desc=data_desc, profile=prof, metrics=metrics,
                         train_s=train_s, infer_dir=infer_dir, held_out=held_out)
