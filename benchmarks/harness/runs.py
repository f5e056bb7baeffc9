"""One benchmark run: its identity, its mmengine config, its execution and its result file.

A run is (protocol, dataset, missing rate, fold, loss, seed) under a :class:`Profile`. Its
folder holds ``spec.json`` (what to run), mmengine's logs and checkpoint, and, once finished,
``result.json`` (metrics, times, config, the model's ``test_cfg``, command). A folder with
``result.json`` is done and skipped, which makes the matrix resumable.

A finished run whose recorded ``test_cfg`` is not the committed config's (its evaluation
predates a change of the test-time post-processing) is re-evaluated from its checkpoint, or
re-trained when it has none (:func:`reevaluate`); the metrics it replaces stay in the result
under ``superseded``.

A self-training run (:data:`~.profiles.SELF_TRAINING`) first labels the training images with
its round one's final checkpoint, then trains on them (:mod:`.self_training`).
"""
import copy
import json
import math
import os
import platform
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from mmengine.config import Config

from .profiles import DETECTORS, SELF_TRAINING, Profile, ablation_of
from .records import RESULT_FILE
from .self_training import SUMMARY_FILE, pseudo_label, round_one, use_pseudo_labels

#: ``Profile.cls_loss_mode``'s default: one histogram over every FPN level.
CLS_LOSS_MODE_DEFAULT = Profile.__dataclass_fields__['cls_loss_mode'].default

REPO = Path(__file__).resolve().parents[2]
SPEC_FILE = 'spec.json'
#: Work folder of re-evaluations: kept apart from the training logs the report reads.
REEVALUATION_DIR = 'reevaluation'
PROTOCOLS = ('table3', 'table4')
DATASETS = ('synthetic', 'real')


@dataclass(frozen=True)
class RunSpec:
    """Identity of one run.

    Attributes:
        protocol (str): ``'table3'`` (natural annotation) or ``'table4'`` (controlled missing
            rate, R-/T-recall on the training images).
        dataset (str): ``'synthetic'`` or ``'real'``.
        data_root (str): Folder in the challenge layout.
        loss (str): Loss key of :data:`LOSSES`.
        drop_rate (float): Share of each training image's boxes removed (paper Sec. 4.6).
        fold (int): Held-out fold (by slide).
        num_folds (int): Folds.
        seed (int): Seed of training and of the box removal.
        profile (str): Profile name.
    """

    protocol: str
    dataset: str
    data_root: str
    loss: str
    drop_rate: float
    fold: int
    num_folds: int
    seed: int
    profile: str

    @property
    def run_id(self) -> str:
        """Folder name, unique within a work directory."""
        return (f'{self.profile}_{self.protocol}_{self.dataset}_drop{self.drop_rate:.2f}_'
                f'fold{self.fold}_{self.loss}_seed{self.seed}')

    def config_path(self, variant: str, detector: str = 'retinanet') -> Path:
        """The committed config of this loss, model variant and detector."""
        return loss_config_path(self.loss, variant, detector)


def detector_config(model_cfg):
    """The detector of a model config: itself, or the ``detector`` a wrapper trains
    (``PartialTeacher``)."""
    return model_cfg.detector if 'detector' in model_cfg else model_cfg


#: A ``model_options`` key of RetinaNet's head -> the keys that size the same width on a
#: two-stage detector: the head's input is the RPN's, the RoI extractor's output and the box
#: head's input; the width of its convolutions is the RPN's.
TWO_STAGE_HEAD_OPTIONS: Dict[str, Tuple[str, ...]] = {
    'bbox_head.in_channels': ('rpn_head.in_channels', 'roi_head.bbox_roi_extractor.out_channels',
                              'roi_head.bbox_head.in_channels'),
    'bbox_head.feat_channels': ('rpn_head.feat_channels', ),
}


def apply_model_options(cfg: Config, options: dict) -> None:
    """Merge a profile's ``model_options`` (keys relative to the detector) into ``cfg``.

    The keys name RetinaNet's modules (a recipe sizes every detector alike); on a two-stage
    detector (an ``rpn_head``, no ``bbox_head``) each ``bbox_head`` key sets the keys of
    :data:`TWO_STAGE_HEAD_OPTIONS` instead.

    Raises:
        ValueError: For a ``bbox_head`` key without a two-stage counterpart.
    """
    model = detector_config(cfg.model)
    prefix = 'model.detector' if 'detector' in cfg.model else 'model'
    two_stage = 'rpn_head' in model and 'bbox_head' not in model
    merged = {}
    for key, value in options.items():
        keys: Sequence[str] = (key, )
        if two_stage and key.startswith('bbox_head.'):
            if key not in TWO_STAGE_HEAD_OPTIONS:
                raise ValueError(f'benchmark: model option {key} has no counterpart on a '
                                 f'two-stage detector (mapped: '
                                 f'{", ".join(sorted(TWO_STAGE_HEAD_OPTIONS))}); set its '
                                 'rpn_head / roi_head keys instead')
            keys = TWO_STAGE_HEAD_OPTIONS[key]
        merged.update({f'{prefix}.{k}': value for k in keys})
    cfg.merge_from_dict(merged)


def loss_config_path(loss: str, variant: str, detector: str = 'retinanet') -> Path:
    """``configs/digestpath/<detector>_<variant>_fpn_<loss>_digestpath.py``.

    Raises:
        ValueError: For a detector outside :data:`~.profiles.DETECTORS`.
    """
    if detector not in DETECTORS:
        raise ValueError(f'benchmark: unknown detector {detector!r}; choose from '
                         f'{", ".join(DETECTORS)}')
    return REPO / 'configs' / 'digestpath' / f'{detector}_{variant}_fpn_{loss}_digestpath.py'


def set_crop_size(pipeline: list, crop_size: int) -> None:
    """Set the crop of the one ``RandomTileCrop`` in a train ``pipeline`` (config dicts)."""
    crops = [step for step in pipeline if step['type'] == 'RandomTileCrop']
    if len(crops) != 1:
        raise ValueError(f'benchmark: expected one RandomTileCrop in the train pipeline, '
                         f'found {len(crops)}')
    crops[0]['crop_size'] = crop_size


def set_loader_workers(cfg_loader: dict, workers: int) -> None:
    """Data loader workers of a loader config (persistent when there are any)."""
    cfg_loader['num_workers'] = workers
    cfg_loader['persistent_workers'] = workers > 0


def set_iter_schedule(cfg: Config, *, iters: int, lr: float, warmup_iters: int,
                      warmup_start: float, milestones: Sequence[int], grad_clip: float,
                      log_interval: int, log_window: int, val_interval: int = 0) -> None:
    """Make ``cfg`` an iteration-based from-scratch run (the benchmark's and the demo's).

    ``IterBasedTrainLoop`` of ``iters`` (held-out evaluation every ``val_interval``, 0: none
    inside the loop), Adam without weight decay, linear warm-up from ``warmup_start * lr`` over
    ``warmup_iters``, x0.1 at each of ``milestones``, gradient clipping (``grad_clip`` > 0),
    a checkpoint at every held-out evaluation (else at the end; the latest is kept, so an
    interrupted run resumes from it), a log line every ``log_interval`` iterations,
    evaluations logged at the iteration they ran, and a ``PosNegBatchSampler`` made infinite.
    """
    # mmengine's loop also evaluates after its last iteration whenever ``val_begin`` has been
    # reached; without in-loop evaluations it is set past the end, so the caller's evaluation
    # after training is the only one.
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                         val_interval=val_interval or iters + 1,
                         val_begin=1 if val_interval else iters + 1)
    batch_sampler = cfg.train_dataloader.get('batch_sampler') or {}
    if batch_sampler.get('type') == 'PosNegBatchSampler':
        # One endless stream of the same batches: no 2 s pause of the loop at each epoch end.
        batch_sampler['infinite'] = True
    cfg.optim_wrapper = dict(type='OptimWrapper',
                             optimizer=dict(type='Adam', lr=lr, weight_decay=0))
    if grad_clip > 0:
        cfg.optim_wrapper['clip_grad'] = dict(max_norm=grad_clip, norm_type=2)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=warmup_start, by_epoch=False, begin=0,
             end=max(warmup_iters, 1)),
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=iters,
             milestones=list(milestones), gamma=0.1)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=val_interval or iters, max_keep_ckpts=1,
                                        save_last=True)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=log_interval,
                                    log_metric_by_epoch=False)
    cfg.log_processor = dict(type='LogProcessor', window_size=log_window, by_epoch=False)


def apply_ablations(cfg: Config, profile: Profile) -> None:
    """The profile's histogram population and ``DGHMCLoss`` overrides on the model config.

    Raises:
        ValueError: When the profile sets ``DGHMCLoss`` options for another loss (such runs
            would repeat the default recipe under an ablation's name), or sets any of them on
            a detector without RetinaNet's dense head.
    """
    detector = detector_config(cfg.model)
    if 'bbox_head' not in detector:
        ablated = [name for name, changed in (
            ('cls_loss_mode', profile.cls_loss_mode != CLS_LOSS_MODE_DEFAULT),
            ('density / mu_noisy / mu_clean', bool(profile.dghmc_overrides)),
            ('pu_missing_rate', profile.pu_missing_rate is not None),
            ('momentum', profile.momentum is not None)) if changed]
        if ablated:
            raise ValueError(f'benchmark: profile {profile.name} sets {", ".join(ablated)}, '
                             f'options of the dense head and its loss; detector '
                             f'{profile.detector} has none')
        return
    head = detector.bbox_head
    # A config that fixes its own histogram population (GHM-C as mmdet's) keeps it unless
    # the profile changes it.
    if 'cls_loss_mode' not in head or profile.cls_loss_mode != CLS_LOSS_MODE_DEFAULT:
        head.cls_loss_mode = profile.cls_loss_mode
    overrides = profile.dghmc_overrides
    if overrides and head.loss_cls.type != 'DGHMCLoss':
        raise ValueError(f'benchmark: profile {profile.name} sets DGHMCLoss options '
                         f'{sorted(overrides)}, but the loss is {head.loss_cls.type}; run it '
                         'with --losses dghmc dghmc-star')
    if profile.density == 'rescaled':
        # The paper's weights of the recipe's own batch, at this run's batch size.
        ablation = ablation_of(profile.to_dict())
        recipe = ablation[0] if ablation else profile
        overrides['reference_size'] = float(
            recipe.batch_size * anchors_per_image(head, profile.crop_size) * head.num_classes)
    head.loss_cls.update(overrides)
    if profile.pu_missing_rate is not None:
        if head.loss_cls.type != 'PULoss':
            raise ValueError(f'benchmark: profile {profile.name} sets the PULoss missing rate, '
                             f'but the loss is {head.loss_cls.type}; run it with --losses pu')
        head.loss_cls.missing_rate = profile.pu_missing_rate
    if profile.momentum is not None:
        if head.loss_cls.type not in ('DGHMCLoss', 'GHMC'):
            raise ValueError(f'benchmark: profile {profile.name} sets the moving-average '
                             f'momentum of the gradient density, but the loss is '
                             f'{head.loss_cls.type}; run it with GHM-C or DGHM-C losses')
        head.loss_cls.momentum = profile.momentum


def anchors_per_image(head: dict, size: int) -> int:
    """Anchors a dense head config lays on a ``size`` x ``size`` input (its anchor
    generator's strides and base anchors, feature maps of ceil(size / stride))."""
    from mmdet.registry import TASK_UTILS
    generator = TASK_UTILS.build(copy.deepcopy(head['anchor_generator']))
    cells = sum(math.ceil(size / stride_y) * math.ceil(size / stride_x)
                for stride_x, stride_y in generator.strides)
    return cells * generator.num_base_priors[0]


def test_cfg_of(spec: RunSpec, profile: Profile) -> dict:
    """The committed config's ``model.test_cfg`` for a run (what its evaluation used)."""
    model = Config.fromfile(str(spec.config_path(profile.variant, profile.detector))).model
    return detector_config(model).test_cfg.to_dict()


def build_run_config(spec: RunSpec, profile: Profile, run_dir: Path) -> Config:
    """The config of one run: the committed loss config with the profile applied.

    Training is an ``IterBasedTrainLoop`` of ``profile.iters`` with linear warm-up and one
    x0.1 step; evaluation runs after training on the held-out fold's whole images (complete
    boxes) through ``val``, and, when boxes were removed, on the positive training images in
    test mode with the same removal (``src_removed_bboxes``: R-/T-recall) through ``test``.

    A self-training run trains on its pseudo-labelled data root (``run_dir/pseudo_labels``,
    nothing removed again) and is evaluated on the original data as every run.

    Args:
        spec (RunSpec): The run.
        profile (Profile): Its profile.
        run_dir (Path): Work directory of the run.

    Returns:
        Config: Ready for ``Runner.from_cfg``.
    """
    config_path = spec.config_path(profile.variant, profile.detector)
    if not config_path.is_file():
        raise FileNotFoundError(f'benchmark: config {config_path} of loss {spec.loss!r}, '
                                f'variant {profile.variant!r} and detector '
                                f'{profile.detector!r} does not exist')
    cfg = Config.fromfile(str(config_path))
    apply_model_options(cfg, profile.model_options)
    cfg.work_dir = str(run_dir)
    cfg.randomness = dict(seed=spec.seed, deterministic=False)
    scale = profile.syn_scale if spec.dataset == 'synthetic' else profile.real_scale
    # Synthetic images are written at syn_scale already; the real half-scale copy at 20x.
    data_scale = 1.0 if spec.dataset == 'synthetic' else scale

    backbone = detector_config(cfg.model).backbone
    backbone.frozen_stages = -1 if not profile.pretrained else 1
    backbone.norm_eval = profile.pretrained
    if not profile.pretrained:
        backbone.init_cfg = None
    apply_ablations(cfg, profile)

    set_iter_schedule(cfg, iters=profile.iters, lr=profile.lr,
                      warmup_iters=profile.warmup_iters, warmup_start=1e-3,
                      milestones=[max(int(profile.lr_step * profile.iters), 1)],
                      grad_clip=profile.grad_clip, log_interval=profile.log_interval,
                      log_window=profile.log_interval, val_interval=profile.val_interval)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=profile.batch_size)

    common = dict(data_root=spec.data_root, fold=spec.fold, num_folds=spec.num_folds,
                  scale=data_scale)
    train = cfg.train_dataloader
    train.batch_size = profile.batch_size
    set_loader_workers(train, profile.num_workers)
    train.batch_sampler.pos_fraction = profile.pos_fraction
    train.dataset.update(common, split='train', tile_size=profile.train_tile,
                         tile_stride=profile.train_stride, drop_rate=spec.drop_rate,
                         drop_seed=spec.seed)
    if spec.loss in SELF_TRAINING:
        use_pseudo_labels(train.dataset, run_dir)
    set_crop_size(train.dataset.pipeline, profile.crop_size)

    val = cfg.val_dataloader
    set_loader_workers(val, profile.num_workers)
    val.dataset.update(common, split='val', tile_size=profile.val_tile,
                       tile_stride=profile.val_stride, drop_rate=0.0, test_mode=True)
    cfg.val_evaluator = dict(type='DigestPathMetric', outfile_prefix=str(run_dir / 'val_'))

    # Training images as the model saw their annotation: removed boxes give R-recall.
    test = copy.deepcopy(cfg.val_dataloader)
    test.dataset.update(split='train', drop_rate=spec.drop_rate, drop_seed=spec.seed,
                        neg_dirs=[])
    cfg.test_dataloader = test
    cfg.test_evaluator = dict(type='DigestPathMetric', outfile_prefix=str(run_dir / 'train_'))
    return cfg


def machine_info() -> Dict[str, object]:
    """CPU model, core count, torch version and the device the run used."""
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    cuda = torch.cuda.is_available()
    return dict(cpu=cpu, cores=os.cpu_count(), torch=torch.__version__,
                torch_threads=torch.get_num_threads(), host=socket.gethostname(),
                python=platform.python_version(),
                device=torch.cuda.get_device_name(0) if cuda else 'cpu')


def _first_source_images(cfg_dataset: dict, limit: int) -> list:
    """Tile indices of the first ``limit`` source images of a dataset config (the tiles of one
    image are listed together), to bound the cost of the training-image evaluation."""
    from mmdet.registry import DATASETS
    probe = dict(cfg_dataset, pipeline=[], lazy_init=False)
    probe.pop('indices', None)
    dataset = DATASETS.build(probe)
    paths = []
    indices = []
    for index in range(len(dataset)):
        path = dataset.get_data_info(index)['src_img_path']
        if path not in paths:
            if len(paths) == limit:
                break
            paths.append(path)
        indices.append(index)
    return indices


def _checkpoint(run_dir: Path) -> Optional[Path]:
    """The run's latest checkpoint (``last_checkpoint`` names it), None without one."""
    pointer = run_dir / 'last_checkpoint'
    if not pointer.is_file():
        return None
    # The pointer holds an absolute path of the machine that trained; the file is the run's.
    checkpoint = run_dir / Path(pointer.read_text().strip()).name
    return checkpoint if checkpoint.is_file() else None


def round_one_checkpoint(run_dir: Path, spec: RunSpec, profile: Profile) -> Tuple[Path, Path]:
    """A self-training run's round one (beside it in ``run_dir.parent``) and its final
    checkpoint.

    Raises:
        RuntimeError: Naming round one's run, when it has not finished under this spec and
            profile, or its folder lacks the checkpoint of its last iteration.
    """
    first = round_one(spec)
    first_dir = run_dir.parent / first.run_id
    if not (first_dir / RESULT_FILE).is_file():
        raise RuntimeError(f'benchmark: {spec.run_id} trains on the pseudo-labels of '
                           f'{first.run_id}, which has not finished ({first_dir} has no '
                           f'{RESULT_FILE}); run it first: --losses {first.loss} {spec.loss} '
                           'trains it before this run')
    done = json.loads((first_dir / RESULT_FILE).read_text())
    if done['spec'] != asdict(first) or Profile(**done['profile']) != profile:
        raise RuntimeError(f'benchmark: {first_dir} finished under other settings than '
                           f'{spec.run_id} asks of its round one')
    checkpoint = _checkpoint(first_dir)
    final = f'iter_{profile.iters}.pth'
    if checkpoint is None or checkpoint.name != final:
        raise RuntimeError(f'benchmark: {spec.run_id} needs the final checkpoint {final} of '
                           f'{first.run_id}, and {first_dir} holds '
                           f'{checkpoint.name if checkpoint else "none"}; remove its '
                           f'{RESULT_FILE} (and checkpoints) to train it again')
    return first_dir, checkpoint


def missing_metrics(result: dict) -> list:
    """Training-image measures the evaluation reports today that ``result`` predates (the
    threshold-free R-recall, ``r_recall@<f>fp``)."""
    from mmdet_dghm.evaluation.metrics import RECALL_FPS, removed_recall_key
    if result['spec']['drop_rate'] <= 0:
        return []
    return [key for key in (f'digestpath/{removed_recall_key(f)}' for f in RECALL_FPS)
            if key not in result['train_metrics']]


def needs_reevaluation(run_dir: Path) -> bool:
    """A finished run evaluated under another ``test_cfg`` than the committed config's, or
    without a measure the evaluation reports today (:func:`missing_metrics`)."""
    if not (run_dir / RESULT_FILE).is_file():
        return False
    result = json.loads((run_dir / RESULT_FILE).read_text())
    spec, profile = RunSpec(**result['spec']), Profile(**result['profile'])
    return result.get('test_cfg') != test_cfg_of(spec, profile) or bool(missing_metrics(result))


def add_extra_evaluations(cfg: Config, spec: RunSpec) -> None:
    """Curves of the training images and of a partially annotated held-out fold.

    With held-out evaluations during training and boxes removed, every evaluation also
    scores (``ExtraEvaluationHook``) the training images as ``test`` does (``train/``: R- and
    T-recall) and the held-out fold with the run's share of boxes removed by the run's seed and
    the removed boxes unknown (``annotated/``: the validation a practitioner with partially
    annotated data has, on which they would pick a checkpoint).
    """
    if not spec.drop_rate or cfg.train_cfg.val_interval > cfg.train_cfg.max_iters:
        return
    annotated = copy.deepcopy(cfg.val_dataloader)
    annotated.dataset.update(drop_rate=spec.drop_rate, drop_seed=spec.seed)
    # A practitioner knows the kept boxes only: without ``src_removed_bboxes`` the metric
    # counts a detection of a removed cell as a false positive, as their validation would.
    for step in annotated.dataset.pipeline:
        if step['type'] == 'PackDetInputs':
            step['meta_keys'] = tuple(k for k in step['meta_keys'] if k != 'src_removed_bboxes')
    metric = dict(type='DigestPathMetric')
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(
        type='ExtraEvaluationHook',
        evaluations=dict(train=dict(dataloader=copy.deepcopy(cfg.test_dataloader),
                                    evaluator=metric),
                         annotated=dict(dataloader=annotated, evaluator=metric)))]


def _run_config(run_dir: Path, spec: RunSpec, profile: Profile) -> Config:
    cfg = build_run_config(spec, profile, run_dir)
    if profile.train_eval_max_images:
        cfg.test_dataloader.dataset['indices'] = _first_source_images(
            cfg.test_dataloader.dataset, profile.train_eval_max_images)
    add_extra_evaluations(cfg, spec)
    return cfg


def _evaluate(runner, drop_rate: float) -> dict:
    """Held-out (and, with removed boxes, training-image) metrics and their times."""
    start = time.perf_counter()
    val_metrics = runner.val()
    val_time = time.perf_counter() - start
    train_metrics: dict = {}
    start = time.perf_counter()
    if drop_rate > 0:
        train_metrics = runner.test()
    return dict(metrics={k: float(v) for k, v in val_metrics.items()},
                train_metrics={k: float(v) for k, v in train_metrics.items()},
                test_cfg=detector_config(runner.cfg.model).test_cfg.to_dict(),
                val_time_s=round(val_time, 1),
                train_eval_time_s=round(time.perf_counter() - start, 1))


def _superseded(previous: Optional[dict]) -> list:
    """The earlier evaluations of a run, the latest last (empty for a first result)."""
    if previous is None:
        return []
    return previous.get('superseded', []) + [dict(
        metrics=previous['metrics'], train_metrics=previous['train_metrics'],
        test_cfg=previous.get('test_cfg'), finished=previous['finished'])]


def _write_result(run_dir: Path, result: dict) -> None:
    tmp = run_dir / (RESULT_FILE + '.tmp')
    tmp.write_text(json.dumps(result, indent=2, allow_nan=True))
    tmp.replace(run_dir / RESULT_FILE)


def execute(run_dir: Path) -> dict:
    """Train and evaluate the run described by ``run_dir/spec.json``; write ``result.json``.

    A run re-trained for a re-evaluation (a result but no checkpoint) keeps its earlier
    metrics under ``superseded``.

    Returns:
        dict: The result record.
    """
    from mmengine.runner import Runner

    import mmdet_dghm  # noqa: F401  registration

    from . import extra_evaluation  # noqa: F401  registration
    record = json.loads((run_dir / SPEC_FILE).read_text())
    spec = RunSpec(**record['spec'])
    profile = Profile(**record['profile'])
    previous = (json.loads((run_dir / RESULT_FILE).read_text())
                if (run_dir / RESULT_FILE).is_file() else None)
    cfg = _run_config(run_dir, spec, profile)
    self_training = {}
    if spec.loss in SELF_TRAINING:
        self_training = _label_round_one(run_dir, spec, profile)
    # An interrupted run (a checkpoint, no result) resumes: mmengine loads the latest
    # checkpoint of the work directory with its optimizer, scheduler and iteration.
    resumed_from = None
    if (run_dir / 'last_checkpoint').is_file():
        resumed_from = Path((run_dir / 'last_checkpoint').read_text().strip()).name
        cfg.resume = True
        print(f'benchmark: resuming {run_dir.name} from {resumed_from}', flush=True)
    cfg.dump(str(run_dir / 'config.py'))
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_time = time.perf_counter() - start
    evaluation = _evaluate(runner, spec.drop_rate)
    result = dict(
        run_id=spec.run_id, spec=asdict(spec), profile=profile.to_dict(),
        config=str(spec.config_path(profile.variant, profile.detector).relative_to(REPO)),
        command=record['command'],
        # A resumed run's train time is that of its last attempt only.
        resumed_from=resumed_from,
        train_time_s=round(train_time, 1), **evaluation, **self_training,
        machine=machine_info(), finished=time.strftime('%Y-%m-%d %H:%M:%S'),
        superseded=_superseded(previous))
    _write_result(run_dir, result)
    return result


def _label_round_one(run_dir: Path, spec: RunSpec, profile: Profile) -> dict:
    """A self-training run's pseudo-labels (written now, or earlier by an interrupted attempt)
    as the result's ``round1_run_id``, ``round1_checkpoint``, ``pseudo_labels`` (the tool's
    summary with ``pseudo_boxes``, ``pseudo_on_exhaustive`` and the ``quality`` against the
    removed boxes) and ``round1``: round one's ``metrics`` and ``train_metrics``, so that the
    run pairs with the model that labelled its data wherever its record goes."""
    if (run_dir / SUMMARY_FILE).is_file():
        summary = json.loads((run_dir / SUMMARY_FILE).read_text())
        print(f'benchmark: {run_dir.name} trains on its pseudo-labels of {summary["checkpoint"]}',
              flush=True)
    else:
        first_dir, checkpoint = round_one_checkpoint(run_dir, spec, profile)
        summary = pseudo_label(run_dir, spec.config_path(profile.variant, profile.detector),
                               first_dir, checkpoint, spec.drop_rate)
    first = round_one(spec).run_id
    done = json.loads((run_dir.parent / first / RESULT_FILE).read_text())
    return dict(round1_run_id=first, round1_checkpoint=Path(summary['checkpoint']).name,
                pseudo_labels=summary, round1=dict(metrics=done['metrics'],
                                                   train_metrics=done['train_metrics']))


def reevaluate(run_dir: Path) -> dict:
    """Evaluate a finished run's checkpoint again under the committed config's ``test_cfg``
    and today's measures.

    The run's own spec and profile are used (not today's profile), the metrics replaced move
    to ``superseded``, and mmengine's logs of the evaluation go to ``reevaluation/`` so the
    training logs stay as they were. A run without a checkpoint is re-trained instead.

    Returns:
        dict: The updated result record.
    """
    from mmengine.runner import Runner

    import mmdet_dghm  # noqa: F401  registration

    from . import extra_evaluation  # noqa: F401  registration
    checkpoint = _checkpoint(run_dir)
    if checkpoint is None:
        print(f'benchmark: {run_dir.name} has no checkpoint; re-training it', flush=True)
        return execute(run_dir)
    previous = json.loads((run_dir / RESULT_FILE).read_text())
    spec, profile = RunSpec(**previous['spec']), Profile(**previous['profile'])
    cfg = _run_config(run_dir, spec, profile)
    cfg.work_dir = str(run_dir / REEVALUATION_DIR)
    cfg.load_from = str(checkpoint)
    cfg.resume = False
    runner = Runner.from_cfg(cfg)
    result = dict(previous, **_evaluate(runner, spec.drop_rate),
                  reevaluated=time.strftime('%Y-%m-%d %H:%M:%S'),
                  reevaluated_checkpoint=checkpoint.name, superseded=_superseded(previous))
    _write_result(run_dir, result)
    return result


def main(argv: Optional[list] = None) -> int:
    """``python -m benchmarks.harness.runs [--reevaluate] RUN_DIR``: execute (or re-evaluate)
    one prepared run."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == '--reevaluate':
        reevaluate(Path(argv[1]))
        return 0
    if len(argv) != 1:
        print('usage: python -m benchmarks.harness.runs [--reevaluate] RUN_DIR',
              file=sys.stderr)
        return 2
    execute(Path(argv[0]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
