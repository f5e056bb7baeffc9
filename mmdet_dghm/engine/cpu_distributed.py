"""Distributed training on CPU-only machines through mmengine's launchers.

mmengine 0.10.7 assumes an accelerator in two places: ``init_dist('pytorch')`` calls
``torch.cuda.set_device(LOCAL_RANK)`` before creating the process group, and
``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to ``DistributedDataParallel``, which
DDP rejects for CPU modules. On a machine without CUDA we therefore create the gloo process
group ourselves (the Runner skips ``init_dist`` when one exists) and give the model wrapper
``device_ids=None``. With CUDA present nothing changes.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare ``cfg`` and the process group for a CPU run under ``launcher``.

    Args:
        cfg: The config the Runner will be built from; updated in place.
        launcher: mmengine launcher name (``'none'``, ``'pytorch'``, ``'slurm'``, ``'mpi'``).

    Returns:
        bool: True when a CPU (gloo) process group was set up here.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel',
                                                   broadcast_buffers=False)
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not dist.is_initialized():
        if launcher == 'slurm':
            _slurm_env_to_torch_env()
        dist.init_process_group(backend='gloo', init_method='env://')
    return True


def _slurm_env_to_torch_env() -> None:
    """Translate Slurm's task variables into the ``env://`` ones torch reads."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ.get('SLURM_NODELIST', '127.0.0.1')
        os.environ['MASTER_ADDR'] = nodes.split(',')[0].split('[')[0]


__all__ = ['setup_cpu_distributed']
