"""Evaluations beside the loop's own validation, at every held-out evaluation of a run.

The loop validates on the held-out fold with complete boxes. A learning curve of the paper's
mechanism also needs the training images as the model saw their annotation (R-recall on the
removed boxes, T-recall on the kept ones), and a practitioner's model selection needs a
validation split annotated like the training data (the held-out fold with the same share of
boxes removed, the removed ones unknown). :class:`ExtraEvaluationHook` evaluates such data sets
after each validation and logs their metrics under ``<name>/`` in the same scalars record as
the validation's, so every curve has one point per evaluation and one iteration.

The hook restores Python's, numpy's and torch's random states afterwards: building and
iterating its loaders draws from them, and a run with the hook must train exactly as one
without it.
"""
import random
from typing import Dict, Optional

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

__all__ = ['ExtraEvaluationHook', 'random_states', 'restore_random_states']


def random_states() -> tuple:
    """Python's, numpy's, torch's CPU (and CUDA) random states."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda


def restore_random_states(states: tuple) -> None:
    """Set the states :func:`random_states` returned."""
    py_state, np_state, torch_state, cuda = states
    random.setstate(py_state)
    np.random.set_state(np_state)
    torch.set_rng_state(torch_state)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


@HOOKS.register_module()
class ExtraEvaluationHook(Hook):
    """Evaluate more data sets after every validation; log them as ``<name>/<metric>``.

    Args:
        evaluations (dict): Name -> ``dict(dataloader=..., evaluator=...)``, configs as the
            runner's ``val_dataloader`` and ``val_evaluator`` take them.
    """
    # After RuntimeInfoHook (which puts the validation's metrics in the message hub), before
    # LoggerHook (which writes the message hub's ``val/`` scalars of the evaluation).
    priority = 'NORMAL'

    def __init__(self, evaluations: Dict[str, dict]) -> None:
        for name, spec in evaluations.items():
            if set(spec) != {'dataloader', 'evaluator'}:
                raise ValueError(f'ExtraEvaluationHook: evaluation {name!r} needs the keys '
                                 f"'dataloader' and 'evaluator', got {sorted(spec)}")
        self.evaluations = evaluations
        self._built: Dict[str, tuple] = {}

    def _build(self, runner, name: str) -> tuple:
        if name not in self._built:
            spec = self.evaluations[name]
            loader = runner.build_dataloader(spec['dataloader'], seed=runner.seed)
            evaluator = runner.build_evaluator(spec['evaluator'])
            evaluator.dataset_meta = loader.dataset.metainfo
            self._built[name] = (loader, evaluator)
        return self._built[name]

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        states = random_states()
        try:
            runner.model.eval()
            for name in self.evaluations:
                loader, evaluator = self._build(runner, name)
                with torch.no_grad():
                    for data_batch in loader:
                        outputs = runner.model.test_step(data_batch)
                        evaluator.process(data_samples=outputs, data_batch=data_batch)
                results = evaluator.evaluate(len(loader.dataset))
                for key, value in results.items():
                    runner.message_hub.update_scalar(f'val/{name}/{key}', float(value))
        finally:
            restore_random_states(states)
