"""The benchmark on Faster R-CNN (``--detector faster-rcnn``): a profile of its own, so its arms
form their own table and pair with their own CE run; the recipe's network sizes apply to the
RPN and the RoI head; options only RetinaNet's head has are refused."""
import pytest

from benchmarks import run as benchmark_run
from benchmarks.harness import runs
from benchmarks.harness.ablations import find_ablations
from benchmarks.harness.profiles import PROFILES, base_profile, get_profile
from benchmarks.harness.runs import REPO, RunSpec, apply_model_options, build_run_config

ARMS = ('ce', 'dghmc-rpn', 'dghmc', 'pu')


def spec_of(profile, loss, root) -> RunSpec:
    return RunSpec(protocol='table4', dataset='synthetic', data_root=str(root), loss=loss,
                   drop_rate=0.7, fold=0, num_folds=5, seed=0, profile=profile.name)


def test_detector_is_a_profile_of_its_own():
    flag = benchmark_run.resolve_profile(benchmark_run.parse_args(
        ['--profile', 'converge', '--detector', 'faster-rcnn']))
    option = benchmark_run.resolve_profile(benchmark_run.parse_args(
        ['--profile', 'converge', '--cfg-options', 'detector=faster-rcnn']))
    assert flag == option == get_profile('converge', detector='faster-rcnn')
    assert flag.name == 'converge-detectorfaster-rcnn'
    assert flag.to_dict() == dict(PROFILES['converge'].to_dict(), name=flag.name,
                                  detector='faster-rcnn')
    # The report groups runs by this name: a recipe change, not an ablation of RetinaNet's runs
    # (whose records, made before the field existed, have none).
    record = flag.to_dict()
    assert base_profile(record) == PROFILES['converge']
    older = PROFILES['converge'].to_dict()
    del older['detector']
    assert find_ablations({'converge': older, flag.name: record}) == {}
    # Run ids differ from RetinaNet's runs of the same loss and seed.
    assert (spec_of(flag, 'ce', '/d').run_id
            == 'converge-detectorfaster-rcnn_table4_synthetic_drop0.70_fold0_ce_seed0')


def test_converge_sizes_both_stages(tmp_path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    profile = get_profile('converge', detector='faster-rcnn')
    spec = spec_of(profile, 'dghmc', tmp_path)
    for loss in ARMS:
        assert spec_of(profile, loss, tmp_path).config_path(profile.variant, 'faster-rcnn') == (
            REPO / 'configs' / 'digestpath' / f'faster-rcnn_r18-light_fpn_{loss}_digestpath.py')
    cfg = build_run_config(spec, profile, tmp_path / 'run')
    assert cfg.model.type == 'FasterRCNN' and cfg.train_cfg.max_iters == 5000
    assert runs.test_cfg_of(spec, profile) == cfg.model.test_cfg.to_dict()
    assert cfg.model.test_cfg.rcnn.score_thr == 0.0
    model = MODELS.build(cfg.model)
    # The recipe's network: ResNet-18 stages of 8/16/32/64 channels, 32-channel FPN, and its
    # 32-channel head width in the RPN, the RoI features and the box head's input.
    assert [layer[-1].conv2.out_channels for layer in
            (model.backbone.layer1, model.backbone.layer2, model.backbone.layer3,
             model.backbone.layer4)] == [8, 16, 32, 64]
    assert model.neck.fpn_convs[0].conv.out_channels == 32
    assert (model.rpn_head.rpn_conv.in_channels, model.rpn_head.rpn_conv.out_channels) == (32, 32)
    assert model.roi_head.bbox_roi_extractor.out_channels == 32
    assert model.roi_head.bbox_head.shared_fcs[0].in_features == 32 * 7 * 7
    # The committed head otherwise: 256 units, DGHM-C's RoI form (one sigmoid channel).
    assert model.roi_head.bbox_head.shared_fcs[0].out_features == 256
    assert model.roi_head.bbox_head.fc_cls.out_features == 1


def test_options_of_the_dense_head_are_refused(tmp_path):
    profile = get_profile('converge', detector='faster-rcnn')
    cfg = build_run_config(spec_of(profile, 'ce', tmp_path), profile, tmp_path / 'run')
    with pytest.raises(ValueError, match=r'model option bbox_head\.stacked_convs has no '
                       r'counterpart on a two-stage detector'):
        apply_model_options(cfg, {'bbox_head.stacked_convs': 4})
    for overrides, named in ((dict(cls_loss_mode='per_level'), 'cls_loss_mode'),
                             (dict(mu_noisy=3.0), 'density / mu_noisy / mu_clean'),
                             (dict(pu_missing_rate=0.5), 'pu_missing_rate')):
        ablated = get_profile('converge', detector='faster-rcnn', **overrides)
        with pytest.raises(ValueError, match=f'sets {named}, options of the dense head and '
                           'its loss; detector faster-rcnn has none'):
            build_run_config(spec_of(ablated, 'dghmc', tmp_path), ablated, tmp_path / 'x')


@pytest.mark.parametrize('argv, message', [
    (['--detector', 'faster-rcnn', '--losses', 'ce', 'focal'],
     r'no config for focal on detector faster-rcnn \(configs/digestpath/faster-rcnn_r18-light_'
     r'fpn_focal_digestpath\.py does not exist\); losses with a config: ce, dghmc-rpn, dghmc, '
     r'pu$'),
    (['--losses', 'dghmc-rpn'], r'no config for dghmc-rpn on detector retinanet'),
    (['--cfg-options', 'detector=yolo'],
     r"unknown detector 'yolo'; choose from retinanet, faster-rcnn"),
])
def test_losses_without_a_config_are_refused_before_anything_runs(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message):
        benchmark_run.main(['--profile', 'converge', '--protocol', 'table4', '--datasets',
                            'synthetic', '--work-dir', str(tmp_path), *argv])
    assert not any(tmp_path.iterdir())  # no synthetic data, no run folder
