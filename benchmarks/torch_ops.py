"""Speed of mmdet_dghm_ops' torch ops against compiled mmcv, as ratios measured in one run.

Runs where mmcv has its compiled ops: each workload alternates between mmcv's kernels and the
torch ops (mmcv's op wrappers pointed at :mod:`mmdet_dghm_ops.mmcv_ext`) and reports medians.

    OMP_NUM_THREADS=1 python -m benchmarks.torch_ops --repeats 5
"""
import argparse
import contextlib
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Iterator

import numpy as np
import torch
from PIL import Image

from mmdet_dghm_ops import mmcv_ext
from mmdet_dghm_ops.__main__ import status

REPO = Path(__file__).resolve().parents[1]
LIGHT_CONFIG = REPO / 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'
WRAPPERS = ('focal_loss', 'multi_scale_deform_attn', 'nms', 'roi_align')


@contextlib.contextmanager
def ops(mode: str) -> Iterator[None]:
    """mmcv's op wrappers call the compiled kernels (``compiled``) or the torch ops."""
    modules = [importlib.import_module(f'mmcv.ops.{name}') for name in WRAPPERS]
    saved = [m.ext_module for m in modules]
    if mode == 'torch':
        for module in modules:
            module.ext_module = mmcv_ext
    try:
        yield
    finally:
        for module, ext in zip(modules, saved):
            module.ext_module = ext


def timed(fn: Callable[[], object], repeats: int) -> Dict[str, float]:
    """Median seconds of ``fn`` per mode, the modes alternating (after one warm-up each)."""
    times = {'compiled': [], 'torch': []}
    for i in range(repeats + 1):
        for mode in times:
            with ops(mode):
                start = time.perf_counter()
                fn()
                if i > 0:
                    times[mode].append(time.perf_counter() - start)
    return {mode: statistics.median(t) for mode, t in times.items()}


def nms_workload(num: int) -> Callable[[], object]:
    from mmcv.ops import nms
    gen = torch.Generator().manual_seed(num)
    xy = torch.rand(num, 2, generator=gen) * 2000
    wh = torch.rand(num, 2, generator=gen) * 60 + 10
    boxes, scores = torch.cat([xy, xy + wh], 1), torch.rand(num, generator=gen)
    return lambda: nms(boxes, scores, 0.5)


def train_step_workload() -> Callable[[], object]:
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    import mmdet_dghm  # noqa: F401  registers the plugin
    register_all_modules()
    cfg = Config.fromfile(LIGHT_CONFIG)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    packed = demo_mm_inputs(batch_size=4, image_shapes=[(3, 256, 256)] * 4, num_classes=2)
    for sample in packed['data_samples']:  # one class, as DigestPath
        sample.gt_instances.labels.zero_()
    optim_wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=1e-4)))
    return lambda: model.train_step(packed, optim_wrapper)


def inference_workload(workdir: Path) -> Callable[[], object]:
    from mmdet_dghm.apis import TiledDetector
    image = workdir / 'whole.png'
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (2000, 2000, 3), dtype=np.uint8)).save(image)
    torch.manual_seed(0)
    # score_thr 0: every tile's 1,000 best boxes reach NMS (the heaviest NMS load).
    detector = TiledDetector.from_config(LIGHT_CONFIG, None, score_thr=0.0)
    return lambda: detector.detect(image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    if status() != 'compiled':
        sys.exit('benchmarks.torch_ops: needs mmcv with its compiled ops to compare with')
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        workloads = [('NMS, 1,000 boxes', nms_workload(1000), args.repeats * 4),
                     ('NMS, 10,000 boxes', nms_workload(10000), args.repeats),
                     ('light RetinaNet training step (4 x 256 px)', train_step_workload(),
                      args.repeats),
                     ('whole-image inference, 2000 x 2000 px', inference_workload(Path(tmp)),
                      max(2, args.repeats // 2))]
        print('| workload | compiled mmcv (s) | torch ops (s) | torch / compiled |')
        print('| --- | --- | --- | --- |')
        for name, fn, repeats in workloads:
            t = timed(fn, repeats)
            print(f'| {name} | {t["compiled"]:.4f} | {t["torch"]:.4f} | '
                  f'{t["torch"] / t["compiled"]:.2f} |', flush=True)


if __name__ == '__main__':
    main()
