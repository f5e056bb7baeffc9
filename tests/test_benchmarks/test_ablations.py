"""The report's ablation section: which runs are ablations, and what each is compared with."""
import pytest
from report_records import record

from benchmarks.harness.ablations import ablation_rows, find_ablations, split_ablations
from benchmarks.harness.profiles import PROFILES, ablation_of
from benchmarks.harness.records import group_results, recorded_profiles


def _result(profile, seed, froc, r_recall):
    return record('dghmc', seed, froc, r_recall=r_recall, prof=profile.to_dict())


CPU = PROFILES['cpu']
PER_LEVEL = CPU.with_overrides(cls_loss_mode='per_level')
BATCH8 = CPU.with_overrides(batch_size=8)
BATCH8_NORMALIZED = CPU.with_overrides(batch_size=8, density='normalized')
OLD_RECIPE = CPU.with_overrides(pos_fraction=0.5)


def test_ablation_of_todays_recipe():
    """At run time (the ``rescaled`` density's reference batch), from today's recipes."""
    assert ablation_of(CPU.to_dict()) is None  # the named profile itself
    assert ablation_of(PER_LEVEL.to_dict()) == (CPU, {'cls_loss_mode': 'per_level'})
    assert ablation_of(BATCH8_NORMALIZED.to_dict()) == (CPU, {'batch_size': 8,
                                                              'density': 'normalized'})
    assert ablation_of(OLD_RECIPE.to_dict()) is None  # another recipe, not an ablation
    # An ablation of another recipe: its reference keeps the recipe's own change.
    mixed = CPU.with_overrides(pos_fraction=0.5, density='normalized')
    assert ablation_of(mixed.to_dict()) == (OLD_RECIPE, {'density': 'normalized'})
    assert ablation_of(dict(name='elsewhere', batch_size=8)) is None


def test_ablations_come_from_the_recorded_profiles():
    """In the report, from the records alone: the recipe is a recorded profile."""
    profiles = {p.name: p.to_dict() for p in (CPU, PER_LEVEL, BATCH8, BATCH8_NORMALIZED,
                                              OLD_RECIPE)}
    assert BATCH8_NORMALIZED.name == 'cpu-batchsize8-densitynormalized'
    found = find_ablations(profiles)
    assert found == {
        PER_LEVEL.name: ('cpu', {'cls_loss_mode': ('all_levels', 'per_level')}),
        BATCH8.name: ('cpu', {'batch_size': (4, 8)}),
        BATCH8_NORMALIZED.name: ('cpu', {'batch_size': (4, 8),
                                         'density': ('paper', 'normalized')})}
    # Without its recipe's runs an ablation is a profile of its own.
    del profiles['cpu']
    assert find_ablations(profiles) == {
        BATCH8_NORMALIZED.name: (BATCH8.name, {'density': ('paper', 'normalized')})}
    # The names' parts, not their order: the run tool sorts the changes it appends.
    density = CPU.with_overrides(iters=2, density='normalized')
    recipe = CPU.with_overrides(iters=2)
    assert density.name == 'cpu-densitynormalized-iters2'
    assert find_ablations({p.name: p.to_dict() for p in (recipe, density)}) == {
        density.name: (recipe.name, {'density': ('paper', 'normalized')})}


def test_ablation_rows_pair_each_change_with_its_reference():
    results = [_result(CPU, s, 0.5, 0.2) for s in range(5)]
    # per level: +0.1 FROC on every seed, R-recall -0.05 on seeds 0-3, +0.05 on seed 4
    results += [_result(PER_LEVEL, s, 0.6, 0.15 if s < 4 else 0.25) for s in range(5)]
    results += [_result(BATCH8, s, 0.4, 0.2) for s in range(2)]
    results += [_result(BATCH8_NORMALIZED, s, 0.45, 0.3) for s in range(3)]  # seed 2 unpaired
    results += [_result(OLD_RECIPE, 0, 0.9, 0.9)]
    groups = group_results(results)
    assert set(find_ablations(recorded_profiles(results))) == {
        PER_LEVEL.name, BATCH8.name, BATCH8_NORMALIZED.name}
    main, ablations = split_ablations(groups)
    assert [group.profile for group in main] == ['cpu', 'cpu-posfraction0.5']
    assert sorted(group.profile for group in ablations) == [
        BATCH8.name, BATCH8_NORMALIZED.name, PER_LEVEL.name]
    rows = {(row.field, tuple(row.held_fixed.items())): row for row in ablation_rows(groups)}
    # The normalized density at batch 8 has no batch-4 reference: not compared on batch size.
    assert set(rows) == {('cls_loss_mode', ()), ('batch_size', ()),
                         ('density', (('batch_size', 8), ))}
    per_level = rows[('cls_loss_mode', ())]
    assert (per_level.recipe, per_level.values, per_level.pairs) == (
        'cpu', ('all_levels', 'per_level'), 5)
    (froc, froc_ref, froc_diff), (r, r_ref, r_diff), _ = per_level.metrics
    assert (froc, froc_ref) == (pytest.approx(0.6), pytest.approx(0.5))
    assert (froc_diff.mean, froc_diff.wins, froc_diff.verdict) == (pytest.approx(0.1), 5,
                                                                   'higher')
    assert (r, r_ref) == (pytest.approx(0.17), pytest.approx(0.2))
    assert (r_diff.wins, r_diff.n, r_diff.verdict) == (1, 5, 'not distinguishable')
    # Batch 8 vs 4 under the paper's density: the 2 seeds both ran.
    batch = rows[('batch_size', ())]
    assert (batch.values, batch.pairs, batch.metrics[0][:2]) == (
        (4, 8), 2, (pytest.approx(0.4), pytest.approx(0.5)))
    density = rows[('density', (('batch_size', 8), ))]
    assert (density.pairs, density.metrics[0][:2]) == (
        2, (pytest.approx(0.45), pytest.approx(0.4)))
    assert (density.metrics[0][2].wins, density.metrics[0][2].verdict) == (
        2, 'not distinguishable')  # too few pairs
    assert ablation_rows(main) == []


def test_rescaled_density_keeps_the_recipes_batch_as_reference(repo_root):
    """``--density rescaled`` gets the recipe's batch in anchors as its reference, whatever
    the run's batch size: 4 crops of 256 px, 9 anchors per cell at strides 8 to 128."""
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from benchmarks.harness.runs import anchors_per_image, apply_ablations
    register_all_modules()
    config = repo_root / 'configs' / 'digestpath' / 'retinanet_r18-light_fpn_dghmc_digestpath.py'
    cells = 32 * 32 + 16 * 16 + 8 * 8 + 4 * 4 + 2 * 2
    assert anchors_per_image(Config.fromfile(config).model.bbox_head, 256) == 9 * cells
    assert anchors_per_image(Config.fromfile(config).model.bbox_head, 250) == 9 * cells
    for batch_size in (4, 8):
        cfg = Config.fromfile(config)
        apply_ablations(cfg, CPU.with_overrides(batch_size=batch_size, density='rescaled'))
        loss = cfg.model.bbox_head.loss_cls
        assert (loss.density, loss.reference_size) == ('rescaled', 4 * 9 * cells)
    cfg = Config.fromfile(config)
    apply_ablations(cfg, BATCH8)
    assert 'reference_size' not in cfg.model.bbox_head.loss_cls


@pytest.mark.parametrize('field, value, key, default, losses, what', [
    ('pu_missing_rate', 0.54, 'missing_rate', 0.7, ('pu', ), 'the PULoss missing rate'),
    ('momentum', 0.75, 'momentum', 0, ('dghmc', 'ghmc'),
     'the moving-average momentum of the gradient density'),
])
def test_loss_ablations_reach_only_the_losses_that_have_them(repo_root, field, value, key,
                                                             default, losses, what):
    from mmengine.config import Config

    from benchmarks.harness.runs import apply_ablations
    folder = repo_root / 'configs' / 'digestpath'
    profile = CPU.with_overrides(**{field: value})
    assert profile.name == f'cpu-{field.replace("_", "")}{value}'
    for loss in losses:
        cfg = Config.fromfile(folder / f'retinanet_r18-light_fpn_{loss}_digestpath.py')
        assert cfg.model.bbox_head.loss_cls.get(key, 0) == default
        apply_ablations(cfg, profile)
        assert cfg.model.bbox_head.loss_cls[key] == value
    ce = Config.fromfile(folder / 'retinanet_r18-light_fpn_ce_digestpath.py')
    with pytest.raises(ValueError, match=f'sets {what}, but the loss is CrossEntropyLoss'):
        apply_ablations(ce, profile)


def test_ghmc_in_mmdets_form_keeps_its_per_level_histograms(repo_root):
    """The config's own histogram population survives the recipe unless an ablation sets
    another; the other configs take the profile's."""
    from mmengine.config import Config

    from benchmarks.harness.runs import apply_ablations
    folder = repo_root / 'configs' / 'digestpath'
    cfg = Config.fromfile(folder / 'retinanet_r18-light_fpn_ghmc-mmdet_digestpath.py')
    loss = cfg.model.bbox_head.loss_cls
    assert (loss.type, loss.bins, loss.momentum) == ('GHMC', 30, 0.75)
    apply_ablations(cfg, CPU)
    assert cfg.model.bbox_head.cls_loss_mode == 'per_level'
    cfg = Config.fromfile(folder / 'retinanet_r18-light_fpn_ghmc_digestpath.py')
    apply_ablations(cfg, CPU.with_overrides(cls_loss_mode='per_level'))
    assert cfg.model.bbox_head.cls_loss_mode == 'per_level'
    cfg = Config.fromfile(folder / 'retinanet_r18-light_fpn_ghmc_digestpath.py')
    apply_ablations(cfg, CPU)
    assert cfg.model.bbox_head.cls_loss_mode == 'all_levels'
