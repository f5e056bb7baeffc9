"""Two CPU processes (gloo) train the light DGHM-C config through mmengine's Runner with the
pytorch launcher (tools/dist_train.sh), with ``sync=True``."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdet_dghm.models.losses import DGHMCLoss
from mmdet_dghm.testing import generate_synthetic_digestpath

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


CHILD_CONFIG = """
_base_ = '{base}'
custom_imports = dict(imports=['mmdet_dghm', 'dist_probe_hook'], allow_failed_imports=False)
model = dict(bbox_head=dict(loss_cls=dict(sync=True)))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    batch_sampler=dict(type='PosNegBatchSampler', pos_fraction=0.5, seed=0),
    dataset=dict(data_root='{data}', split='all', tile_size=128, tile_stride=128,
                 pipeline=[dict(type='LoadDigestPathTile'),
                           dict(type='LoadAnnotations', with_bbox=True),
                           dict(type='PackDetInputs', meta_keys={meta_keys!r})]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False),
                     logger=dict(type='LoggerHook', interval=1))
log_processor = dict(by_epoch=False)
custom_hooks = [dict(type='DistProbeHook', out_dir='{out}')]
randomness = dict(seed=0)
"""


@pytest.mark.slow
def test_two_gloo_processes_train_with_synced_dghmc(tmp_path, repo_root):
    data = tmp_path / 'data'
    generate_synthetic_digestpath(data, num_pos=2, num_neg=2, image_size=256,
                                  images_per_slide=1, seed=3)
    base = repo_root / 'configs' / 'digestpath' / 'retinanet_r18-light_fpn_dghmc_digestpath.py'
    meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                 'partially_annotated', 'tile_origin')
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(CHILD_CONFIG.format(base=base, data=data, out=tmp_path, meta_keys=meta_keys))
    env = dict(os.environ, PYTHONPATH=f'{HERE}{os.pathsep}{os.environ.get("PYTHONPATH", "")}',
               PORT=str(_free_port()), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', str(repo_root / 'tools' / 'dist_train.sh'), str(cfg), '2',
                           '--work-dir', str(tmp_path / 'work')],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in (0, 1)]
    assert [r['wrapper'] for r in ranks] == ['MMDistributedDataParallel'] * 2
    # DDP kept both replicas' parameters identical after two optimiser steps (BatchNorm
    # running statistics stay per rank, as in mmdet's default non-synced BN).
    assert len(ranks[0]['params']) > 50
    for key, value in ranks[0]['params'].items():
        assert torch.equal(value, ranks[1]['params'][key]), key
    # The pos/neg batch sampler gave each rank its own tiles.
    seen = [{tile for batch in r['img_paths'] for tile in batch} for r in ranks]
    assert len(ranks[0]['img_paths']) == len(ranks[1]['img_paths']) == 2
    assert not seen[0] & seen[1]

    # Synced weights on each half == one process on the whole (global) batch.
    inputs = [r['loss_inputs'] for r in ranks]
    whole = {k: torch.cat([i[k] for i in inputs]) for k in ('pred', 'target', 'weight',
                                                            'partial')}
    single = DGHMCLoss()
    valid = (whole['weight'] > 0)[:, None]
    binary = torch.nn.functional.one_hot(whole['target'], 2)[:, :1].float()
    expected = single.harmonizing_weights(whole['pred'].float(), binary, valid, whole['partial'])
    synced = torch.cat([i['synced_weights'] for i in inputs])
    torch.testing.assert_close(synced, expected)
    # ... and differs from what an unsynced rank would use on its half alone.
    local = [single.harmonizing_weights(i['pred'].float(),
                                        torch.nn.functional.one_hot(i['target'], 2)[:, :1].float(),
                                        (i['weight'] > 0)[:, None], i['partial'])
             for i in inputs]
    assert not torch.allclose(torch.cat(local), expected)
