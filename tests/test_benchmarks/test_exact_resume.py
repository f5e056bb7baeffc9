"""A benchmark run interrupted at a checkpoint and resumed ends with the weights of the same run
trained without a stop: long runs may be stopped any time."""

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from benchmarks.harness.runs import build_run_config


@pytest.mark.slow
def test_resumed_run_matches_an_uninterrupted_one(smoke_ce_spec, tmp_path):
    spec, profile = smoke_ce_spec(iters=6, val_interval=3)

    trained = []

    class RecordIters(Hook):
        def before_train(self, runner):
            trained.append([])

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            trained[-1].append(runner.iter + 1)

    def train(run_dir, stop=None, resume=False):
        cfg = build_run_config(spec, profile, run_dir)
        if stop is not None:
            cfg.train_cfg.max_iters = stop  # the same schedule, stopped early
        cfg.resume = resume
        runner = Runner.from_cfg(cfg)
        runner.register_hook(RecordIters())
        runner.train()
        return runner.iter, {k: v.clone() for k, v in runner.model.state_dict().items()}

    full_iter, full = train(tmp_path / 'full')
    cut_iter, cut = train(tmp_path / 'cut', stop=3)
    resumed_iter, resumed = train(tmp_path / 'cut', resume=True)
    assert (full_iter, cut_iter, resumed_iter) == (6, 3, 6)
    # The second attempt resumed: it logged iterations 4-6 only (a fresh start would log 1-6
    # and match the uninterrupted run trivially).
    assert trained[-1] == [4, 5, 6] and trained[0] == list(range(1, 7))
    # The stop happened where it mattered: three more steps changed the weights.
    assert not all(torch.equal(full[k], cut[k]) for k in full)
    differing = [k for k in full if not torch.equal(full[k], resumed[k])]
    assert differing == []
