"""Export the student (or teacher) of a PartialTeacher run as a plain detector.

Writes ``OUT_DIR/<name>.py`` (the run's config with ``model = model.detector`` and the
training view's steps in place of ``MultiBranch``) and ``OUT_DIR/<name>.pth`` (its weights and
the checkpoint's meta: classes, pixel size), which ``tools/test.py``, ``tools/infer.py`` and
``tools/train.py`` (``load_from``) take as any detector.

Example::

    python tools/export_detector.py \
        configs/digestpath/retinanet_r18-light_fpn_teacher-ce_digestpath.py \
        work_dirs/teacher/iter_5000.pth --out-dir work_dirs/teacher/student
    python tools/test.py work_dirs/teacher/student/student.py \
        work_dirs/teacher/student/student.pth
"""
import argparse
from pathlib import Path
from typing import List, Optional

import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

import mmdet_dghm  # noqa: F401  registers the plugin
from mmdet_dghm.utils import (
    allow_mmengine_checkpoint_globals,
    detector_state_dict,
    plain_detector_config,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export the detector of a teacher-student '
                                     'checkpoint (mmdet-dghm)')
    parser.add_argument('config', help='the PartialTeacher config the checkpoint trained with')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--out-dir', required=True, help='folder of the exported pair')
    parser.add_argument('--which', choices=('student', 'teacher'), default='student',
                        help='the detector to export (default: student)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    plain_cfg = plain_detector_config(cfg, args.which)
    allow_mmengine_checkpoint_globals()
    ckpt = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    weights = detector_state_dict(state, args.which, source=args.checkpoint)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plain_cfg.dump(str(out / f'{args.which}.py'))
    torch.save(dict(meta=ckpt.get('meta', {}), state_dict=weights), out / f'{args.which}.pth')
    print(f'{args.which}: {out / f"{args.which}.py"} and {out / f"{args.which}.pth"} '
          f'({len(weights)} tensors)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
