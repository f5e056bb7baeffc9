"""Curves of the training images and of a partially annotated held-out fold, logged at every
held-out evaluation, without changing what the run trains."""
import dataclasses
import json
import random

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from benchmarks.harness.extra_evaluation import random_states, restore_random_states
from benchmarks.harness.profiles import PROFILES
from benchmarks.harness.runs import _run_config, build_run_config


def test_random_states_round_trip():
    states = random_states()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_random_states(states)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def _scalars(run_dir):
    (log, ) = sorted(run_dir.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_extra_evaluations_log_curves_and_leave_training_alone(smoke_ce_spec, tmp_path):
    spec, profile = smoke_ce_spec(iters=4, val_interval=2)

    def train(run_dir, hooked):
        cfg = (_run_config(run_dir, spec, profile) if hooked
               else build_run_config(spec, profile, run_dir))
        # mmengine keeps one visualizer per name in a process: one per run, so each run
        # writes its own scalars log.
        cfg.visualizer.name = f'visualizer_{run_dir.name}'
        runner = Runner.from_cfg(cfg)
        runner.train()
        return {k: v.clone() for k, v in runner.model.state_dict().items()}

    plain = train(tmp_path / 'plain', hooked=False)
    hooked = train(tmp_path / 'hooked', hooked=True)
    assert [k for k in plain if not torch.equal(plain[k], hooked[k])] == []

    evaluations = [r for r in _scalars(tmp_path / 'hooked') if 'digestpath/froc' in r]
    assert [r['step'] for r in evaluations] == [2, 4]
    for record in evaluations:
        # Training images as trained on: the removed boxes give R-recall.
        assert 0 <= record['train/digestpath/r_recall'] <= 1
        assert 0 <= record['train/digestpath/t_recall'] <= 1
        assert 0 <= record['annotated/digestpath/froc'] <= 1
    assert not any('annotated/digestpath/froc' in r for r in _scalars(tmp_path / 'plain'))


def test_partial_fold_is_the_held_out_fold_with_the_runs_removal(smoke_ce_spec, tmp_path):
    spec, profile = smoke_ce_spec(iters=4, val_interval=2)
    spec = dataclasses.replace(spec, seed=3)
    cfg = _run_config(tmp_path, spec, profile)
    (hook, ) = [h for h in cfg.custom_hooks if h['type'] == 'ExtraEvaluationHook']
    partial = hook['evaluations']['annotated']['dataloader']['dataset']
    val = cfg.val_dataloader.dataset
    assert (partial.split, partial.fold, val.drop_rate) == ('val', val.fold, 0.0)
    assert (partial.drop_rate, partial.drop_seed) == (0.5, 3)
    (pack, ) = [t for t in partial.pipeline if t['type'] == 'PackDetInputs']
    (val_pack, ) = [t for t in val.pipeline if t['type'] == 'PackDetInputs']
    # The removed boxes stay unknown to the metric: detections of them are false positives.
    assert set(val_pack['meta_keys']) - set(pack['meta_keys']) == {'src_removed_bboxes'}
    assert hook['evaluations']['train']['dataloader'] == cfg.test_dataloader
    # Without evaluations during training there is nothing to add.
    cfg = _run_config(tmp_path, spec, PROFILES['smoke'])
    assert not any(h['type'] == 'ExtraEvaluationHook' for h in cfg.get('custom_hooks', []))
