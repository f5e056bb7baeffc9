"""A PartialTeacher run through the user's tools: train (burn-in, then pseudo-boxes), export
the student as a plain detector, test it (the tools' ``main`` in this process: each would
otherwise pay the import of mmdet again)."""
import pickle

import pytest
from mmengine.config import Config
from test_train_tools import REPO, logged_train_losses, tiny_data, tiny_loader_options  # noqa: F401

TEACHER = 'configs/digestpath/retinanet_r18-light_fpn_teacher-ce_digestpath.py'


@pytest.mark.slow
def test_teacher_trains_exports_and_tests(tiny_data, tmp_path, load_tool):  # noqa: F811
    work_dir = tmp_path / 'teacher'
    # 4 tiles, batch 4: an iteration per epoch; the first is burn-in. The untrained teacher
    # scores every cell about 0.01, so the thresholds sit below that.
    load_tool('train').main([str(REPO / TEACHER), '--work-dir', str(work_dir), '--cfg-options',
         *tiny_loader_options('train_dataloader', tiny_data), 'train_cfg.max_epochs=3',
         'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None',
         'model.semi_train_cfg.burn_in_iters=1', 'model.semi_train_cfg.pos_thr=0.001',
         'model.semi_train_cfg.ignore_thr=0.001', 'model.semi_train_cfg.max_per_annotated=None',
         'model.detector.test_cfg.score_thr=0.0',
         'model.detector.backbone.init_cfg=None', 'model.detector.backbone.base_channels=8',
         'model.detector.neck.in_channels=[8,16,32,64]', 'default_hooks.logger.interval=1',
         # A visualizer of its own: mmengine reuses one of the same name from an earlier
         # Runner in this process, with that Runner's folder.
         f'visualizer.name=teacher_tools_{tmp_path.name}', 'randomness.seed=0'])
    records = logged_train_losses(work_dir)
    assert [r['iter'] for r in records] == [1, 2, 3]
    assert 'pseudo_boxes' not in records[0]
    assert all(r['pseudo_boxes'] > 0 and r['pseudo_on_exhaustive'] == 0 for r in records[1:])

    out_dir = tmp_path / 'exported'
    export = load_tool('export_detector')
    assert export.main([str(REPO / TEACHER), str(work_dir / 'epoch_3.pth'), '--out-dir',
                        str(out_dir)]) == 0
    plain = Config.fromfile(str(out_dir / 'student.py'))
    assert plain.model.type == 'RetinaNet'
    assert [step['type'] for step in plain.train_dataloader.dataset.pipeline] == [
        'LoadDigestPathTile', 'LoadAnnotations', 'RandomTileCrop', 'RandomFlip',
        'RandomRot90', 'PackDetInputs']
    assert [hook['type'] for hook in plain.custom_hooks] == ['PixelSizeHook']

    results_file = tmp_path / 'results.pkl'
    load_tool('test').main([str(out_dir / 'student.py'), str(out_dir / 'student.pth'),
                            '--work-dir', str(tmp_path / 'test'), '--out', str(results_file),
                            '--cfg-options', *tiny_loader_options('test_dataloader', tiny_data)])
    with open(results_file, 'rb') as f:
        assert len(pickle.load(f)) == 4

    # A checkpoint that is not a teacher-student one is refused by name.
    with pytest.raises(ValueError, match=r'student\.pth holds no student\.\* weights'):
        export.main([str(REPO / TEACHER), str(out_dir / 'student.pth'), '--out-dir',
                     str(tmp_path / 'again')])
