"""Benchmark profiles: model variant, data geometry and schedule shared by all six losses.

A profile fixes everything but the classification loss, so the runs of one protocol differ in
the loss line of their config only (paper Table 3's comparison). ``smoke`` is for tests
(seconds per run), ``cpu`` fits the whole synthetic matrix in about 2.5 h on 2 cores,
``cpu-real`` trains on the real split long enough to watch it learn (about 40 min a run),
``gpu-real`` is that recipe at batch 8 for one GPU, and
``paper`` keeps the paper's geometry (800 px tiles, 600 px crops, batch 8, Adam 1e-4, section
4.2) with a shortened schedule. Every profile draws its batches as the paper does: one
positive tile for three negative ones (``pos_fraction=0.25``).

The ablation switches (``cls_loss_mode``, ``density``, ``mu_noisy``, ``mu_clean``) default to
the committed configs' settings; set through :meth:`Profile.with_overrides` they rename the
profile, so ablation runs never share run ids or report rows with the default recipe.
"""
from dataclasses import asdict, dataclass, fields, replace
from typing import Dict, Optional, Tuple

#: Loss name -> config stem; ``retinanet_<variant>_fpn_<stem>_digestpath.py``.
LOSSES: Tuple[str, ...] = ('ce', 'focal', 'ghmc', 'sce', 'dghmc', 'dghmc-star')
LOSS_LABELS: Dict[str, str] = {
    'ce': 'CE', 'focal': 'Focal', 'ghmc': 'GHM-C', 'sce': 'SCE', 'dghmc': 'DGHM-C',
    'dghmc-star': 'DGHM-C*'}
#: Paper section 4.6: controlled missing rates of Table 4.
MISSING_RATES: Tuple[float, ...] = (0.3, 0.5, 0.7)


@dataclass(frozen=True)
class Profile:
    """Everything a benchmark run fixes besides the loss.

    Attributes:
        name (str): Profile name.
        variant (str): Config variant, ``'r18-light'`` (64-channel 2-conv head) or ``'r18'``.
        iters (int): Training iterations (``IterBasedTrainLoop``).
        batch_size (int): Training tiles per batch.
        pos_fraction (float): Share of positive tiles per batch (``PosNegBatchSampler``).
        crop_size (int): Random training crop side (``RandomTileCrop``).
        train_tile (int): Side of the training tiles the crops come from.
        train_stride (int): Stride of the training tiles.
        val_tile (int): Side of the evaluation tiles (whole images when >= the image side).
        val_stride (int): Stride of the evaluation tiles.
        lr (float): Adam learning rate.
        warmup_iters (int): Linear warm-up from ``lr / 1000``.
        lr_step (float): Fraction of ``iters`` after which the lr drops x0.1.
        grad_clip (float): Max gradient norm (0: none); the same for every loss.
        num_workers (int): Data loader workers (train and evaluation).
        log_interval (int): Iterations between log lines (the learning curves' resolution).
        val_interval (int): Iterations between held-out evaluations during training (0: only
            after training), to watch learning on experiments.
        pretrained (bool): Start the backbone from torchvision's ImageNet ResNet-18.
        syn_num_pos (int): Positive synthetic images generated for the synthetic protocol.
        syn_num_neg (int): Negative synthetic images.
        syn_image_size (int): Synthetic image side at ``syn_scale``.
        syn_scale (float): Synthetic magnification relative to 40x (0.5: 28 px boxes).
        syn_images_per_slide (int): Synthetic images sharing a slide (folds split slides).
        real_scale (float): Resize of the real half-scale images (1.0 keeps 20x).
        train_eval_max_images (int): Positive training images evaluated for R-/T-recall
            (0: all of them).
        cls_loss_mode (str): The head's histogram population, ``'all_levels'`` (one
            histogram over every FPN level, the configs') or ``'per_level'``.
        density (str): ``DGHMCLoss`` density, ``'paper'`` (eq. 10) or ``'normalized'``.
        mu_noisy (float, optional): ``DGHMCLoss`` mu_n override (None: the config's, 2.0).
        mu_clean (float, optional): ``DGHMCLoss`` mu_c override (None: the config's, 0.5).
    """

    name: str
    variant: str
    iters: int
    batch_size: int
    pos_fraction: float
    crop_size: int
    train_tile: int
    train_stride: int
    val_tile: int
    val_stride: int
    lr: float
    warmup_iters: int
    lr_step: float
    grad_clip: float
    num_workers: int
    log_interval: int
    val_interval: int = 0
    pretrained: bool = False
    syn_num_pos: int = 32
    syn_num_neg: int = 48
    syn_image_size: int = 512
    syn_scale: float = 0.5
    syn_images_per_slide: int = 4
    real_scale: float = 1.0
    train_eval_max_images: int = 0
    cls_loss_mode: str = 'all_levels'
    density: str = 'paper'
    mu_noisy: Optional[float] = None
    mu_clean: Optional[float] = None

    @property
    def dghmc_overrides(self) -> Dict[str, object]:
        """``DGHMCLoss`` arguments this profile sets (empty for the default recipe)."""
        overrides = dict(mu_noisy=self.mu_noisy, mu_clean=self.mu_clean)
        if self.density != 'paper':
            overrides['density'] = self.density
        return {k: v for k, v in overrides.items() if v is not None}

    def to_dict(self) -> dict:
        """Plain dict (JSON) of the profile."""
        return asdict(self)

    def with_overrides(self, **overrides) -> 'Profile':
        """A copy with the non-None ``overrides`` applied (command-line overrides).

        Overrides that change a value also change the name (``cpu`` with ``iters=900`` is
        ``cpu-iters900``): the name goes into the run ids, so runs of another schedule never
        reuse, or mix in the report with, the named profile's finished runs.
        """
        changed = {k: v for k, v in overrides.items()
                   if v is not None and getattr(self, k) != v}
        if not changed:
            return self
        suffix = '-'.join(f'{k.replace("_", "")}{v:g}' if isinstance(v, float)
                          else f'{k.replace("_", "")}{v}' for k, v in sorted(changed.items()))
        return replace(self, name=f'{self.name}-{suffix}', **changed)


PROFILES: Dict[str, Profile] = {
    # Seconds per run: 128 px synthetic images, one tile each, a few steps.
    'smoke': Profile(
        name='smoke', variant='r18-light', iters=4, batch_size=4, pos_fraction=0.25,
        crop_size=96, train_tile=128, train_stride=128, val_tile=128, val_stride=128,
        lr=1e-3, warmup_iters=2, lr_step=0.75, grad_clip=35.0, num_workers=0,
        log_interval=1, syn_num_pos=4, syn_num_neg=4, syn_image_size=128,
        syn_images_per_slide=1),
    # 2 CPU cores: light model, 256 px crops of 512 px tiles, batch 4 (about 1.3 s per step),
    # Adam 1e-3 with warm-up: from scratch, 1e-4 barely moves in a few hundred steps.
    'cpu': Profile(
        name='cpu', variant='r18-light', iters=300, batch_size=4, pos_fraction=0.25,
        crop_size=256, train_tile=512, train_stride=512, val_tile=512, val_stride=512,
        lr=1e-3, warmup_iters=50, lr_step=0.8, grad_clip=35.0, num_workers=0,
        log_interval=10, train_eval_max_images=16),
    # The real half-scale split on 2 CPU cores: the cpu profile's model and geometry, 5x the
    # iterations (300 learn nothing on real tissue from scratch: FROC 0.06), evaluated on the
    # held-out slides every 500 iterations to show whether and when it starts to learn.
    'cpu-real': Profile(
        name='cpu-real', variant='r18-light', iters=1500, batch_size=4, pos_fraction=0.25,
        crop_size=256, train_tile=512, train_stride=512, val_tile=512, val_stride=512,
        lr=1e-3, warmup_iters=50, lr_step=0.8, grad_clip=35.0, num_workers=0,
        log_interval=10, val_interval=500),
    # The cpu-real recipe on one GPU (six runs sharing one H100/H200, 2 loader workers
    # each): batch 8 instead of 4, so one 10-minute command sees twice the tiles.
    'gpu-real': Profile(
        name='gpu-real', variant='r18-light', iters=1500, batch_size=8, pos_fraction=0.25,
        crop_size=256, train_tile=512, train_stride=512, val_tile=512, val_stride=512,
        lr=1e-3, warmup_iters=50, lr_step=0.8, grad_clip=35.0, num_workers=2,
        log_interval=20, val_interval=500),
    # Paper section 4.2 geometry on the real half-scale split (tiles 800/300, crops 600, batch 8
    # with 2 positives, Adam 1e-4); whole images (about 1000 px) evaluated as 800 px tiles.
    'paper': Profile(
        name='paper', variant='r18', iters=1000, batch_size=8, pos_fraction=0.25,
        crop_size=600, train_tile=800, train_stride=300, val_tile=800, val_stride=600,
        lr=1e-4, warmup_iters=100, lr_step=0.8, grad_clip=35.0, num_workers=2,
        log_interval=20, syn_num_pos=64, syn_num_neg=96, syn_image_size=1024),
}


def canonical_name(record: dict) -> str:
    """The name a recorded profile would get today: its named profile with every value that
    differs from today's applied as an override (:meth:`Profile.with_overrides`).

    Records made before a profile changed (for example under ``pos_fraction=0.5``) thereby
    keep apart from the runs of its current settings in the report. Fields a record lacks
    take their defaults.
    """
    base = max((name for name in PROFILES if record['name'] == name
                or record['name'].startswith(name + '-')), key=len, default=None)
    if base is None:
        return record['name']
    names = {f.name for f in fields(Profile)} - {'name'}
    return PROFILES[base].with_overrides(**{k: v for k, v in record.items() if k in names}).name


def get_profile(name: str, **overrides: Optional[object]) -> Profile:
    """The named profile with command-line overrides applied.

    Raises:
        KeyError: For an unknown profile name.
    """
    if name not in PROFILES:
        raise KeyError(f'unknown profile {name!r}; choose from {sorted(PROFILES)}')
    return PROFILES[name].with_overrides(**overrides)
