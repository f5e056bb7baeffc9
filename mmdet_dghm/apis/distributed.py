"""The process group of a distributed cohort run, on GPUs (NCCL) or CPUs (gloo).

``tools/dist_infer.sh`` (torchrun) and ``tools/slurm_infer.sh`` (srun) start one process per
device; :func:`init_distributed` joins them. With CUDA it is mmengine's ``init_dist`` (each
process on the GPU of its local rank). Without CUDA mmengine 0.10.7's ``init_dist`` fails
(it calls ``torch.cuda.set_device``), so the gloo group is created here from the same
environment variables. The group's timeout bounds how long a rank that finished its share
waits at the final barrier for the others: slides take minutes to hours, so it is generous.
"""
import datetime
import os
import re
import shutil
import subprocess
from typing import Optional, Tuple

import torch
import torch.distributed as dist
from mmengine.dist import get_dist_info, init_dist

__all__ = ['LAUNCHERS', 'init_distributed', 'local_device', 'slurm_master_addr']

LAUNCHERS = ('none', 'pytorch', 'slurm')
# Default wait at a barrier: a rank may finish its share hours before the slowest one.
DEFAULT_TIMEOUT_S = 48 * 3600


def slurm_master_addr(nodelist: str) -> str:
    """The first host of a Slurm node list, as ``scontrol show hostnames`` would name it.

    ``scontrol`` is asked when it is installed; otherwise the first entry is expanded here
    (``'gpu[03-05,07],cpu1'`` gives ``'gpu03'``).
    """
    if shutil.which('scontrol'):
        out = subprocess.run(['scontrol', 'show', 'hostnames', nodelist], capture_output=True,
                             text=True, check=False).stdout.split()
        if out:
            return out[0]
    match = re.match(r'([^,\[]+)(?:\[([^\]]+)\])?', nodelist.strip())
    if match is None:
        raise ValueError(f'SLURM_NODELIST={nodelist!r}: cannot find the first host')
    prefix, ranges = match.groups()
    if not ranges:
        return prefix
    first = ranges.split(',')[0].split('-')[0]
    return prefix + first


def _slurm_to_torch_env() -> None:
    """Slurm's task variables as the ``env://`` ones torch reads (those set are kept)."""
    for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'):
        if name not in os.environ:
            raise ValueError(f'--launcher slurm: {name} is not set; start the tool with srun '
                             '(tools/slurm_infer.sh)')
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = slurm_master_addr(os.environ['SLURM_NODELIST'])


def init_distributed(launcher: str, backend: Optional[str] = None,
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> Tuple[int, int]:
    """Join the process group of ``launcher`` (nothing for ``'none'``).

    Args:
        launcher (str): 'none', 'pytorch' (torchrun's variables) or 'slurm' (srun's).
        backend (str, optional): torch.distributed backend. Defaults to None: 'nccl' with
            CUDA, else 'gloo'.
        timeout_s (float): Longest wait of a collective (the final barrier), in seconds.
            Defaults to 48 hours.

    Returns:
        Tuple[int, int]: ``(rank, world_size)``; ``(0, 1)`` for 'none'.

    Raises:
        ValueError: For an unknown launcher, or variables of the launcher missing.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher={launcher!r} must be one of {", ".join(LAUNCHERS)}')
    if launcher == 'none' or dist.is_initialized():
        return get_dist_info()
    if backend is None:
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    if torch.cuda.is_available():
        init_dist(launcher, backend=backend, timeout=timeout_s)
        return get_dist_info()
    if launcher == 'slurm':
        _slurm_to_torch_env()
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if name not in os.environ:
            raise ValueError(f'--launcher {launcher}: {name} is not set; start the tool with '
                             'torchrun (tools/dist_infer.sh)')
    dist.init_process_group(backend=backend, init_method='env://',
                            timeout=datetime.timedelta(seconds=timeout_s))
    return get_dist_info()


def local_device(device: str) -> str:
    """``device`` for this process: a bare ``'cuda'`` becomes the local rank's GPU."""
    if device == 'cuda' and dist.is_initialized():
        return f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    return device
