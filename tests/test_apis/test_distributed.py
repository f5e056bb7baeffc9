"""Joining the process group of srun or torchrun on a CPU machine (gloo)."""
import socket

import pytest
import torch.distributed as dist

from mmdet_dghm.apis import init_distributed
from mmdet_dghm.apis.distributed import slurm_master_addr


@pytest.mark.parametrize('nodelist, first', [
    ('gpu07', 'gpu07'), ('gpu[03-05,07],cpu1', 'gpu03'), ('node12,node13', 'node12'),
    ('a-b[9]', 'a-b9')])
def test_first_host_of_a_slurm_node_list(nodelist, first, monkeypatch):
    monkeypatch.setattr('shutil.which', lambda name: None)  # no scontrol: parsed here
    assert slurm_master_addr(nodelist) == first


def test_slurm_variables_start_a_gloo_group(monkeypatch):
    # Set then deleted, so that monkeypatch also removes what init_distributed sets.
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT',
                 'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST', 'SLURM_LOCALID'):
        monkeypatch.setenv(name, '')
        monkeypatch.delenv(name)
    with pytest.raises(ValueError, match='--launcher slurm: SLURM_PROCID is not set; start '
                                         'the tool with srun'):
        init_distributed('slurm')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv('SLURM_PROCID', '0')
    monkeypatch.setenv('SLURM_NTASKS', '1')
    monkeypatch.setenv('SLURM_NODELIST', 'localhost')
    monkeypatch.setenv('MASTER_PORT', str(port))
    try:
        assert init_distributed('slurm') == (0, 1)
        assert dist.get_backend() == 'gloo' and dist.get_world_size() == 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    assert init_distributed('none') == (0, 1)
    with pytest.raises(ValueError, match="launcher='mpi' must be one of none, pytorch, slurm"):
        init_distributed('mpi')
