"""Output names of a cohort: flat by name, mirrored folders when names collide or a root is
given."""
from pathlib import Path

import pytest

from mmdet_dghm.apis import find_slides, input_root, output_keys


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'')
    return path


def test_flat_cohort_keeps_names_and_same_names_mirror_folders(tmp_path):
    a = touch(tmp_path / 'cohort/caseA/slide1.png')
    b = touch(tmp_path / 'cohort/caseB/slide1.png')
    c = touch(tmp_path / 'cohort/caseB/deep/slide2.tif')
    assert output_keys([a, c]) == ['slide1', 'slide2']  # unique names: today's layout
    assert input_root([a, b, c]) == tmp_path / 'cohort'
    assert output_keys([a, b, c]) == ['caseA/slide1', 'caseB/slide1', 'caseB/deep/slide2']
    # A given root always mirrors, so a growing cohort keeps its layout.
    assert output_keys([a, c], root=tmp_path) == ['cohort/caseA/slide1',
                                                  'cohort/caseB/deep/slide2']
    with pytest.raises(ValueError, match=r'slide1\.png: not under the input root .*caseB'):
        output_keys([a], root=tmp_path / 'cohort/caseB')
    d = touch(tmp_path / 'cohort/caseA/slide1.tif')
    with pytest.raises(ValueError, match=r'caseA/slide1\.png and .*caseA/slide1\.tif would '
                                         r'write the same outputs \(caseA/slide1\.\*\)'):
        output_keys([a, b, d])


def test_find_slides_top_level_or_recursive(tmp_path):
    a = touch(tmp_path / 'cohort/a.png')
    b = touch(tmp_path / 'cohort/caseB/b.svs')
    touch(tmp_path / 'cohort/notes.txt')
    assert find_slides([tmp_path / 'cohort']) == [a]
    assert find_slides([tmp_path / 'cohort'], recursive=True) == [a, b]
    # A file named alone and through its folder runs once.
    assert find_slides([a, tmp_path / 'cohort']) == [a]
    empty = touch(tmp_path / 'empty/sub/x.txt').parents[1]
    with pytest.raises(ValueError, match=r'empty: folder or its subfolders holds no images'):
        find_slides([empty], recursive=True)
    with pytest.raises(ValueError, match=r'missing: no such file or folder'):
        find_slides([tmp_path / 'missing'])
