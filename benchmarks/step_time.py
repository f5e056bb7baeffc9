"""Training-step time of benchmark runs side by side: recipes (network sizes) and losses.

Usage::

    # the compact recipe's network against the light model's, CE on both
    python -m benchmarks.step_time --profiles cpu converge --losses ce \
        --out benchmarks/step_time_recipes.md
    # each classification loss against focal on the cpu recipe's model
    python -m benchmarks.step_time --profiles cpu --losses focal ce dghmc cleanonly pu brl \
        --out benchmarks/step_time_losses.md
    # Faster R-CNN against RetinaNet on the converge recipe's network, CE on both
    python -m benchmarks.step_time --profiles converge --detectors retinanet faster-rcnn \
        --losses ce

Each row is one (profile, loss): the DigestPath config of the profile's detector, variant and
loss (``configs/digestpath/<detector>_<variant>_fpn_<loss>_digestpath.py``; ``--detectors``
gives each profile under each detector, named as the benchmark names it) with the profile's
``model_options``, from random weights (shared by the rows of one profile), running
``model.train_step`` (preprocessing, forward, backward, Adam step) on the same batch of the
profile's geometry: ``batch_size`` crops of ``crop_size`` px, one positive (partially
annotated, eight 28 px cells) to three negative images, as the 1:3 sampler draws them. Rounds
run every row once in a rotated order (:func:`.head_cost.time_rounds`); the table gives each
row's median and its ratio to the first row's, by medians and by the median per-round ratio.
"""
import argparse
import copy
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import mmdet
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmdet_dghm  # noqa: F401  (registration)

from .harness.profiles import ALL_LOSSES, DETECTORS, PROFILES, Profile
from .harness.runs import apply_model_options, detector_config, loss_config_path
from .head_cost import time_rounds

Row = Tuple[str, str]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--profiles', nargs='+', default=['cpu'], choices=sorted(PROFILES))
    p.add_argument('--losses', nargs='+', default=['ce'], choices=ALL_LOSSES)
    p.add_argument('--detectors', nargs='+', default=['retinanet'], choices=DETECTORS,
                   help='each profile under each detector (default: RetinaNet)')
    p.add_argument('--repeats', type=int, default=15)
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    p.add_argument('--out', type=Path, default=None, help='markdown table (default: print)')
    return p.parse_args(argv)


def profile_batch(profile: Profile, seed: int = 0) -> dict:
    """One batch of ``profile``'s geometry: image 0 partially annotated with eight cells in a
    row, the others negatives (clean, no boxes)."""
    gen = torch.Generator().manual_seed(seed)
    size = profile.crop_size
    step = size / 8
    cells = torch.tensor([[i * step + 2, size / 2 - 14, i * step + 2 + min(28, step - 4),
                           size / 2 + 14] for i in range(8)], dtype=torch.float32)
    inputs, samples = [], []
    for index in range(profile.batch_size):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen))
        positive = index == 0
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             scale_factor=(1.0, 1.0),
                                             partially_annotated=positive))
        sample.gt_instances = InstanceData(
            bboxes=cells.clone() if positive else torch.zeros((0, 4)),
            labels=torch.zeros(len(cells) if positive else 0, dtype=torch.long))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def model_config(profile: Profile, loss: str) -> Config:
    """The run's model config: the committed loss config with the profile's model options
    (on the detector of a PartialTeacher)."""
    cfg = Config.fromfile(str(loss_config_path(loss, profile.variant, profile.detector)))
    apply_model_options(cfg, profile.model_options)
    detector_config(cfg.model).backbone.init_cfg = None
    return cfg


def teacher_batch(data: dict) -> dict:
    """``data`` as the two views of a PartialTeacher (the same crops; no geometry between)."""
    return dict(inputs=dict(teacher=data['inputs'], student=copy.deepcopy(data['inputs'])),
                data_samples=dict(teacher=data['data_samples'],
                                  student=copy.deepcopy(data['data_samples'])))


def train_steps(rows: List[Row],
                profiles: Optional[Dict[str, Profile]] = None) -> Dict[Row, Callable[[], None]]:
    """One ``train_step`` closure per row; rows of one profile start from the same weights.

    ``profiles`` names the profiles of the rows (default: the recipes, :data:`PROFILES`).
    """
    profiles = PROFILES if profiles is None else profiles
    steps, states = {}, {}
    for profile_name, loss in rows:
        profile = profiles[profile_name]
        cfg = model_config(profile, loss)
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(copy.deepcopy(cfg.model))
            model.init_weights()
            # The network's weights, not the losses' own buffers (GHM-C's bin edges).
            # A PartialTeacher's student and teacher both start from the profile's network,
            # and the step labels with the teacher (past burn-in).
            teacher = hasattr(model, 'student')
            networks = [model.student, model.teacher] if teacher else [model]
            for network in networks:
                state = states.setdefault(profile_name, copy.deepcopy(
                    {k: v for k, v in network.state_dict().items() if '.loss_' not in k}))
                own = network.state_dict()
                # An RoI classifier in a status-aware loss's RoI form has C outputs where the
                # softmax has C + 1: its output layer keeps its own initialisation.
                resized = [k for k, v in state.items()
                           if k in own and own[k].shape != v.shape and '.fc_cls.' in k]
                missing, unexpected = network.load_state_dict(
                    {k: v for k, v in state.items() if k not in resized}, strict=False)
                if unexpected or any('.loss_' not in k and k not in resized for k in missing):
                    raise RuntimeError(f'step_time: {loss} on {profile_name} does not share '
                                       f'the network of the profile ({missing + unexpected})')
            if teacher:
                model.set_pseudo_labels(True)
            model.train()
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        data = teacher_batch(profile_batch(profile)) if teacher else profile_batch(profile)
        steps[(profile_name, loss)] = (
            lambda m=model, o=optim_wrapper, d=data: m.train_step(d, o))
    return steps


def table(rows: List[Row], times: Dict[Row, List[float]]) -> List[str]:
    """Markdown rows: profile, loss, parameters-free median ms, ratios to the first row."""
    first = rows[0]
    base = statistics.median(times[first])
    lines = ['| Profile | Loss | Median ms | Ratio of medians | Median per-round ratio |',
             '|---|---|---:|---:|---:|']
    for row in rows:
        median = statistics.median(times[row])
        per_round = statistics.median(t / b for t, b in zip(times[row], times[first]))
        lines.append(f'| {row[0]} | {row[1]} | {median * 1e3:.0f} | {median / base:.3f} | '
                     f'{per_round:.3f} |')
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    profiles = {profile.name: profile for profile in (
        PROFILES[name].with_overrides(detector=detector)
        for name in args.profiles for detector in args.detectors)}
    rows = [(p, loss) for p in profiles for loss in args.losses]
    times = time_rounds(train_steps(rows, profiles), args.repeats)
    command = 'python -m benchmarks.step_time ' + shlex.join(
        sys.argv[1:] if argv is None else argv)
    described = '; '.join(
        f'`{name}`: {p.detector} {p.variant}, model options {p.model_options or "none"}, '
        f'batch {p.batch_size} x {p.crop_size} px' for name, p in profiles.items())
    text = '\n'.join([
        f'# Training-step time (CPU): {", ".join(profiles)} x {", ".join(args.losses)}',
        '',
        f'Command: `{command.strip()}`', '',
        f'- Profiles: {described}',
        f'- `model.train_step` on one fixed batch (1 partially annotated positive, the rest '
        f'clean negatives); median of {args.repeats} rotated rounds after 2 warm-up rounds; '
        f'torch threads: {args.threads}',
        f'- Machine: {platform.platform()}, {os.cpu_count()} logical CPUs, load average at '
        f'start {load:.1f}; torch {torch.__version__}, mmdet {mmdet.__version__}', '',
        *table(rows, times), ''])
    print(text)
    if args.out is not None:
        args.out.write_text(text)
        print(f'written {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
