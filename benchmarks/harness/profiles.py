"""Benchmark profiles: model variant, data geometry and schedule shared by all six losses.

Each profile is a recipe file, ``benchmarks/recipes/<name>.py`` (an mmengine config whose keys
are :class:`Profile`'s fields); this module defines the fields and loads the files. The one
mapping from a recipe to mmengine's loop, optimizer, scheduler and hooks is
``benchmarks.harness.runs.set_iter_schedule``, shared with the demo.

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

``detector`` picks the detector the losses train on (RetinaNet by default; ``faster-rcnn`` for
the two-stage comparison of :data:`TWO_STAGE_LOSSES`): another detector renames the profile
too, so its runs form a table of their own and pair with that detector's CE run.
"""
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Dict, Optional, Tuple

from mmengine.config import Config

from .ablations import ABLATION_FIELDS
from .loss_names import (  # noqa: F401 (the run tools' names)
    ALL_LOSSES,
    BASELINE_VARIANTS,
    LOSS_LABELS,
    LOSSES,
    METHODS,
    SELF_TRAINING,
    TEACHERS,
    TWO_STAGE_LOSSES,
)

#: Detectors a profile may train: the prefix of their configs,
#: ``configs/digestpath/<detector>_<variant>_fpn_<loss>_digestpath.py``.
DETECTORS: Tuple[str, ...] = ('retinanet', 'faster-rcnn')
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
        syn_lookalike_density (float): Multiplier on the synthetic look-alikes (normal cells,
            lymphocytes, vacuoles).
        syn_mimic_coverage (float): Largest share of a synthetic image covered by unannotated
            SRC mimics (drawn per image from half of it to it; 0: none).
        real_scale (float): Resize of the real half-scale images (1.0 keeps 20x).
        train_eval_max_images (int): Positive training images evaluated for R-/T-recall
            (0: all of them).
        cls_loss_mode (str): The head's histogram population, ``'all_levels'`` (one
            histogram over every FPN level, the configs') or ``'per_level'``.
        density (str): ``DGHMCLoss`` density, ``'paper'`` (eq. 10), ``'normalized'`` or
            ``'rescaled'`` (the paper's weights of the recipe's batch size at any other; the
            reference is the recipe's batch of crops, in anchors).
        mu_noisy (float, optional): ``DGHMCLoss`` mu_n override (None: the config's, 2.0).
        mu_clean (float, optional): ``DGHMCLoss`` mu_c override (None: the config's, 0.5).
        pu_missing_rate (float, optional): ``PULoss`` missing_rate override (None: the
            config's), from which the loss sets its class prior.
        momentum (float, optional): Moving-average momentum of the gradient-density counts
            of ``DGHMCLoss`` or ``GHMC`` (None: the config's; mmdet's GHM RetinaNet uses
            0.75).
        detector (str): The detector of :data:`DETECTORS` whose configs the losses name
            (``'retinanet'``; ``'faster-rcnn'``: the same backbone and neck under an RPN and an
            RoI head).
        model_options (dict): ``--cfg-options``-style overrides of the variant's model config,
            keys relative to ``model`` (e.g. ``{'neck.out_channels': 32}``): how a recipe sizes
            the network without a config file per loss. Empty: the variant as committed.
            The keys name RetinaNet's modules; on a two-stage detector the head's width goes
            to the RPN and the RoI head (``benchmarks.harness.runs.apply_model_options``).
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
    syn_lookalike_density: float = 1.0
    syn_mimic_coverage: float = 0.0
    real_scale: float = 1.0
    train_eval_max_images: int = 0
    cls_loss_mode: str = 'all_levels'
    density: str = 'paper'
    mu_noisy: Optional[float] = None
    mu_clean: Optional[float] = None
    pu_missing_rate: Optional[float] = None
    momentum: Optional[float] = None
    detector: str = 'retinanet'
    model_options: Dict[str, object] = field(default_factory=dict)

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
        parts = []
        for key, value in sorted(changed.items()):
            if key == 'model_options':  # only the entries that differ, by their own keys
                parts += [_name_part(k, v) for k, v in sorted(value.items())
                          if self.model_options.get(k) != v]
            else:
                parts.append(_name_part(key, value))
        return replace(self, name=f'{self.name}-{"-".join(parts)}', **changed)


def _name_part(key: str, value: object) -> str:
    """``iters800``, ``lr0.0001``, ``neckoutchannels64``, ``neckinchannels8x16x32x64``."""
    if isinstance(value, (list, tuple)):
        text = 'x'.join(map(str, value))
    else:
        text = f'{value:g}' if isinstance(value, float) else str(value)
    return key.replace('_', '').replace('.', '') + text


def cfg_option_overrides(profile: Profile, options: Dict[str, object]) -> Dict[str, object]:
    """``--cfg-options`` of the benchmark as :meth:`Profile.with_overrides` arguments.

    A key is a field of :class:`Profile` (``iters=8000``, ``syn_mimic_coverage=0.3``) or a
    ``model.``-prefixed key of the model config (``model.neck.out_channels=64``), which joins
    the profile's ``model_options``.

    Args:
        profile (Profile): The profile the options change.
        options (dict): Parsed ``KEY=VALUE`` pairs (mmengine's ``DictAction``).

    Returns:
        dict: Field overrides; ``model_options`` is the profile's merged with the new keys.

    Raises:
        ValueError: Naming the option, for an unknown key or a value of the wrong type.
    """
    # The fields left None by default (mu_noisy, momentum, ...) are all Optional[float].
    kinds = {f.name: float if getattr(profile, f.name) is None else type(getattr(profile, f.name))
             for f in fields(Profile) if f.name not in ('name', 'model_options')}
    overrides: Dict[str, object] = {}
    model: Dict[str, object] = {}
    for key, value in options.items():
        if key.startswith('model.') and len(key) > len('model.'):
            model[key[len('model.'):]] = value
            continue
        if key not in kinds:
            raise ValueError(f'--cfg-options {key}={value!r}: unknown key; use a recipe field '
                             f'({", ".join(sorted(kinds))}) or model.<key>')
        kind = kinds[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f'--cfg-options {key}={value!r}: expected {kind.__name__}, got '
                             f'{type(value).__name__}')
        overrides[key] = value
    if model:
        overrides['model_options'] = {**profile.model_options, **model}
    return overrides


#: The recipe files: one mmengine config per profile, named after it.
RECIPES_DIR = Path(__file__).resolve().parents[1] / 'recipes'


def load_recipe(path: Path, record_type: type = Profile):
    """The recipe a file defines: its top-level keys are the fields of ``record_type`` (a
    dataclass; a ``name`` field takes the file's stem).

    Args:
        path (Path): An mmengine config file.
        record_type (type): :class:`Profile` (benchmark) or the demo's profile class.

    Raises:
        ValueError: Naming the file, for a key that is not a field or a missing field.
    """
    values = Config.fromfile(str(path)).to_dict()
    names = {f.name for f in fields(record_type)}
    if 'name' in names:
        names.remove('name')
        values = dict(values, name=path.stem) if 'name' not in values else values
    unknown = sorted(set(values) - names - {'name'})
    if unknown:
        raise ValueError(f'{path}: unknown recipe keys {unknown}; a recipe sets the fields '
                         f'of {record_type.__name__}: {sorted(names)}')
    try:
        return record_type(**values)
    except TypeError as err:
        raise ValueError(f'{path}: incomplete recipe ({err})') from err


def load_recipes(folder: Path = RECIPES_DIR, record_type: type = Profile) -> Dict[str, object]:
    """Every recipe of ``folder`` by name (the file's stem)."""
    return {path.stem: load_recipe(path, record_type) for path in sorted(folder.glob('*.py'))}


PROFILES: Dict[str, Profile] = load_recipes()


def base_profile(record: dict) -> Optional[Profile]:
    """The named profile a recorded profile derives from (the longest name its name starts
    with: ``cpu-real-iters900`` is ``cpu-real``'s), or None."""
    name = max((n for n in PROFILES if record['name'] == n or record['name'].startswith(n + '-')),
               key=len, default=None)
    return PROFILES[name] if name else None


def ablation_of(record: dict) -> Optional[Tuple[Profile, Dict[str, object]]]:
    """``(recipe, changes)``: the recipe a profile (as a dict) is an ablation of and the
    :data:`ABLATION_FIELDS` it changes, or None when it changes none.

    The recipe is the named profile with the record's other changes applied (``cpu`` with
    ``--iters 600 --density normalized`` is an ablation of ``cpu-iters600``). This reads
    today's recipes: it is for planning and running; the report derives ablations from the
    records alone (:func:`benchmarks.harness.ablations.find_ablations`).
    """
    base = base_profile(record)
    if base is None:
        return None
    changed = {f.name: record.get(f.name, getattr(base, f.name)) for f in fields(Profile)
               if f.name != 'name'
               and record.get(f.name, getattr(base, f.name)) != getattr(base, f.name)}
    changes = {k: v for k, v in changed.items() if k in ABLATION_FIELDS}
    if not changes:
        return None
    recipe = base.with_overrides(**{k: v for k, v in changed.items() if k not in changes})
    return recipe, changes


def get_profile(name: str, **overrides: Optional[object]) -> Profile:
    """The named profile with command-line overrides applied.

    Raises:
        KeyError: For an unknown profile name.
    """
    if name not in PROFILES:
        raise KeyError(f'unknown profile {name!r}; choose from {sorted(PROFILES)}')
    return PROFILES[name].with_overrides(**overrides)
