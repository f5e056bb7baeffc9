"""Fixtures of the tool tests: two smoke benchmark runs shared by every module that needs a
trained model (training them takes most of their cost)."""
import dataclasses
import json
from pathlib import Path
from typing import Callable, List, Tuple

import pytest
from smoke_runs import SMOKE_ARGS, smoke_run_id

from benchmarks import run as benchmark_run


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
    return work / 'runs' / smoke_run_id('dghmc')


@pytest.fixture(scope='session')
def smoke_ce_spec(smoke) -> Callable[..., tuple]:
    """``make(**overrides)``: the CE smoke run's spec under the smoke profile with
    ``overrides`` (iters, val_interval, ...), as ``(spec, profile)``."""
    from benchmarks.harness.profiles import PROFILES
    from benchmarks.harness.runs import RunSpec
    _, work = smoke
    done = json.loads((work / 'runs' / smoke_run_id('ce') / 'result.json').read_text())

    def make(**overrides):
        profile = PROFILES['smoke'].with_overrides(**overrides)
        return dataclasses.replace(RunSpec(**done['spec']), profile=profile.name), profile
    return make
