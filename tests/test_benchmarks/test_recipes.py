"""Benchmark and demo recipes are config files, loaded into their profile records."""
import dataclasses
from dataclasses import fields

import pytest

from benchmarks.harness.profiles import PROFILES, RECIPES_DIR, Profile, load_recipe
from demo.pipeline import PROFILES as DEMO_PROFILES
from demo.pipeline import DemoProfile


def test_every_recipe_file_is_a_profile_named_after_it():
    assert sorted(PROFILES) == sorted(p.stem for p in RECIPES_DIR.glob('*.py'))
    assert {'smoke', 'cpu', 'cpu-real', 'gpu-real', 'paper'} <= set(PROFILES)
    for name, profile in PROFILES.items():
        assert profile.name == name
    assert PROFILES['cpu'].iters == 300 and PROFILES['cpu'].lr == 1e-3
    assert PROFILES['paper'].variant == 'r18' and PROFILES['paper'].crop_size == 600
    # Inherited recipes: gpu-real is cpu-real at batch 8, cpu-real the cpu recipe for longer.
    assert PROFILES['gpu-real'].to_dict() == dict(PROFILES['cpu-real'].to_dict(), name='gpu-real',
                                                  batch_size=8, num_workers=2, log_interval=20)
    assert (PROFILES['cpu-real'].iters, PROFILES['cpu-real'].crop_size) == (1500, 256)


def test_demo_recipes_fill_every_field():
    assert sorted(DEMO_PROFILES) == ['default', 'smoke']
    assert DEMO_PROFILES['default'].iters == 700
    assert all(isinstance(p, DemoProfile) for p in DEMO_PROFILES.values())
    assert len(fields(DemoProfile)) == 16


def test_bad_recipes_name_the_file(tmp_path):
    unknown = tmp_path / 'typo.py'
    unknown.write_text((RECIPES_DIR / 'smoke.py').read_text() + 'iterations = 5\n')
    with pytest.raises(ValueError, match=r'typo\.py: unknown recipe keys \[\'iterations\'\]'):
        load_recipe(unknown)
    missing = tmp_path / 'short.py'
    missing.write_text("variant = 'r18-light'\niters = 4\n")
    with pytest.raises(ValueError, match=r'short\.py: incomplete recipe'):
        load_recipe(missing, Profile)
    assert load_recipe(RECIPES_DIR / 'smoke.py') == PROFILES['smoke']


def test_converge_recipe_sizes_the_network_through_model_options(tmp_path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from benchmarks.harness.runs import RunSpec, build_run_config
    register_all_modules()
    profile = PROFILES['converge']
    spec = RunSpec(protocol='table4', dataset='synthetic', data_root=str(tmp_path), loss='ce',
                   drop_rate=0.7, fold=0, num_folds=5, seed=0, profile=profile.name)
    cfg = build_run_config(spec, profile, tmp_path / 'run')
    assert cfg.model.backbone.base_channels == 8
    assert cfg.model.neck.in_channels == [8, 16, 32, 64]
    model = MODELS.build(cfg.model)
    # ResNet-18 stages of 8/16/32/64 channels, 32-channel FPN outputs and head convs.
    assert [layer[-1].conv2.out_channels for layer in
            (model.backbone.layer1, model.backbone.layer2, model.backbone.layer3,
             model.backbone.layer4)] == [8, 16, 32, 64]
    assert model.neck.fpn_convs[0].conv.out_channels == 32
    assert model.bbox_head.retina_cls.in_channels == 32
    # Everything else is the light model's: the same loss line; 5,000 steps.
    assert cfg.model.bbox_head.loss_cls.type == 'CrossEntropyLoss'
    assert cfg.train_cfg.max_iters == 5000
    # A recipe without model options leaves the committed config as it is.
    light = build_run_config(spec, PROFILES['cpu'], tmp_path / 'light')
    assert light.model.neck.out_channels == 64 and 'base_channels' not in light.model.backbone


def test_synthetic_data_of_other_settings_is_not_reused(tmp_path):
    import argparse
    import json

    from benchmarks.run import SYNTHETIC_DONE, synthetic_root
    args = argparse.Namespace(work_dir=str(tmp_path), profile='smoke', synthetic_root=None)
    root = tmp_path / 'synthetic_smoke'
    root.mkdir()
    made = dict(num_pos=4, num_neg=4, image_size=128, scale=0.5, images_per_slide=1, seed=0)
    (root / SYNTHETIC_DONE).write_text(json.dumps(made))
    assert synthetic_root(args, PROFILES['smoke']) == str(root)  # the same settings: reused
    harder = dataclasses.replace(PROFILES['smoke'], syn_mimic_coverage=0.1)
    with pytest.raises(ValueError, match=r"synthetic_smoke holds synthetic data made with .*"
                       r"asks for .*'mimic_coverage': \(0\.05, 0\.1\)"):
        synthetic_root(args, harder)


def test_cfg_options_override_recipe_fields_and_model_keys(tmp_path):
    from benchmarks import run as benchmark_run
    from benchmarks.harness.runs import RunSpec, build_run_config
    args = benchmark_run.parse_args([
        '--profile', 'converge', '--cfg-options', 'iters=800', 'lr=1', 'syn_mimic_coverage=0.3',
        'model.neck.out_channels=64', 'model.bbox_head.in_channels=64',
        'model.neck.in_channels=[8,16,32,64]'])
    profile = benchmark_run.resolve_profile(args)
    # Changed values rename the profile (sorted keys; only the model keys that differ).
    assert profile.name == ('converge-iters800-lr1-bboxheadinchannels64-neckoutchannels64'
                            '-synmimiccoverage0.3')
    assert (profile.iters, profile.syn_mimic_coverage) == (800, 0.3)
    assert isinstance(profile.lr, float) and profile.lr == 1.0
    assert profile.model_options == dict(PROFILES['converge'].model_options,
                                         **{'neck.out_channels': 64,
                                            'bbox_head.in_channels': 64})
    spec = RunSpec(protocol='table4', dataset='synthetic', data_root=str(tmp_path), loss='ce',
                   drop_rate=0.7, fold=0, num_folds=5, seed=0, profile=profile.name)
    cfg = build_run_config(spec, profile, tmp_path / 'run')
    assert (cfg.model.neck.out_channels, cfg.model.bbox_head.in_channels) == (64, 64)
    assert cfg.model.backbone.base_channels == 8 and cfg.train_cfg.max_iters == 800
    # The recipe's own values change nothing; a flag and an option may agree.
    same = benchmark_run.parse_args(['--profile', 'converge', '--iters', '5000',
                                     '--cfg-options', 'iters=5000', 'model.neck.out_channels=32'])
    assert benchmark_run.resolve_profile(same) == PROFILES['converge']


@pytest.mark.parametrize('options, message', [
    (['iterations=800'], r'--cfg-options iterations=800: unknown key; use a recipe field'),
    (['iters=0.5'], r'--cfg-options iters=0.5: expected int, got float'),
    (['pretrained=1'], r'--cfg-options pretrained=1: expected bool, got int'),
    (['momentum=fast'], r"--cfg-options momentum='fast': expected float, got str"),
    (['name=other'], r'--cfg-options name=.other.: unknown key'),
])
def test_bad_cfg_options_name_the_option(options, message):
    from benchmarks import run as benchmark_run
    args = benchmark_run.parse_args(['--profile', 'converge', '--cfg-options', *options])
    with pytest.raises(SystemExit, match=message):
        benchmark_run.resolve_profile(args)


def test_cfg_options_that_contradict_a_flag_are_refused():
    from benchmarks import run as benchmark_run
    args = benchmark_run.parse_args(['--profile', 'converge', '--iters', '900',
                                     '--cfg-options', 'iters=800'])
    with pytest.raises(SystemExit, match='--cfg-options iters=800 contradicts --iters 900'):
        benchmark_run.resolve_profile(args)
