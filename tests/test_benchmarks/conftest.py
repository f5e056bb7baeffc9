"""Fixtures of the tool tests: two smoke benchmark runs shared by every module that needs a
trained model (training them takes most of their cost)."""
import dataclasses
import json
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from benchmarks import run as benchmark_run

#: Two runs (CE, DGHM-C) of two iterations at missing rate 0.5 on a tiny synthetic set.
SMOKE_ARGS = ['--profile', 'smoke', '--protocol', 'table4', '--losses', 'ce', 'dghmc',
              '--drop-rates', '0.5', '--seeds', '0', '--iters', '2', '--threads', '1',
              '--no-report']


@pytest.fixture(scope='session')
def smoke_args() -> List[str]:
    return list(SMOKE_ARGS)


@pytest.fixture(scope='session')
def smoke(tmp_path_factory) -> Tuple[object, Path]:
    """The benchmark tool and the work directory of the two smoke runs."""
    work = tmp_path_factory.mktemp('bench')
    benchmark = benchmark_run
    assert benchmark.main(SMOKE_ARGS + ['--work-dir', str(work)]) == 0
    return benchmark, work


@pytest.fixture(scope='session')
def smoke_dghmc_run(smoke) -> Path:
    """Folder of the DGHM-C smoke run (its config.py and checkpoint)."""
    _, work = smoke
    return work / 'runs' / 'smoke-iters2_table4_synthetic_drop0.50_fold0_dghmc_seed0'


@pytest.fixture(scope='session')
def smoke_ce_spec(smoke) -> Callable[..., tuple]:
    """``make(**overrides)``: the CE smoke run's spec under the smoke profile with
    ``overrides`` (iters, val_interval, ...), as ``(spec, profile)``."""
    from benchmarks.harness.profiles import PROFILES
    from benchmarks.harness.runs import RunSpec
    _, work = smoke
    done = json.loads((work / 'runs' / 'smoke-iters2_table4_synthetic_drop0.50_fold0_ce_seed0'
                       / 'result.json').read_text())

    def make(**overrides):
        profile = PROFILES['smoke'].with_overrides(**overrides)
        return dataclasses.replace(RunSpec(**done['spec']), profile=profile.name), profile
    return make
