"""A hook for the distributed test: what each rank saw, fed to the loss, and ended with.

Imported by the training processes through ``custom_imports`` (PYTHONPATH holds this folder).
"""
import os

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet_dghm.models.losses.utils import binary_target, label_weight


@HOOKS.register_module()
class DistProbeHook(Hook):
    """Records, per rank: image paths of every batch, the first classification-loss call's
    inputs with the (synced) harmonizing weights, and the final parameters."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.record = dict(img_paths=[], loss_inputs=None)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.record['wrapper'] = type(runner.model).__name__
        loss = model.bbox_head.loss_cls

        def capture(module, args, kwargs, output):
            if self.record['loss_inputs'] is None:
                pred, target, weight = args[:3]
                partial = kwargs['partial']
                binary = binary_target(pred, target, 'probe')
                valid = label_weight(pred, weight, 'probe') > 0
                weights = module.harmonizing_weights(pred.detach().float(), binary, valid,
                                                     partial)  # all-reduces the counts
                self.record['loss_inputs'] = dict(pred=pred.detach(), target=target,
                                                  weight=weight, partial=partial,
                                                  synced_weights=weights)

        loss.register_forward_hook(capture, with_kwargs=True)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.record['img_paths'].append(
            [(s.img_path, tuple(s.tile_origin)) for s in data_batch['data_samples']])

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.record['params'] = {k: v.detach().clone() for k, v in model.named_parameters()}
        torch.save(self.record, os.path.join(self.out_dir, f'rank{runner.rank}.pt'))
