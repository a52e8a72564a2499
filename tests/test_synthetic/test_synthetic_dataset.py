"""The synthetic dataset on disk: layout, splits, labels, keypoints, determinism, CLI."""
import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmreidparts.structures.part_schemes import get_part_scheme
from mmreidparts.synthetic import (
    COCO_KEYPOINTS,
    SPLIT_DIRS,
    generate_synthetic_dataset,
    image_name,
    parse_image_name,
)

SMALL = dict(num_train_ids=3, num_test_ids=4, images_per_id=(3, 4), seed=5, img_size=(64, 32),
             schemes=('atoms13', 'bpbreid8', 'pal7'),
             occlusion=dict(query=0.5, gallery=0.25, train=0.2))
TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'dataset_converters' / \
    'generate_synthetic.py'


def _files(root: Path) -> dict:
    """Relative path -> bytes of every generated file except meta.json."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file() and p.name != 'meta.json'}


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    """A small dataset generated once for the module, with its summary."""
    root = tmp_path_factory.mktemp('synthetic') / 'data'
    summary = generate_synthetic_dataset(root, **SMALL)
    return root, summary


def _images(root: Path, split: str) -> list:
    return sorted(p.name for p in (root / split).glob('*.jpg'))


def test_name_round_trip():
    stem = image_name(12, 3, 1205)
    assert stem == '0012_c3s1_001205_01'
    assert parse_image_name(stem + '.jpg') == {'pid': 12, 'camid': 3, 'seq': 1,
                                               'frame': 1205, 'box': 1}
    with pytest.raises(ValueError):
        parse_image_name('12_c3_1205.jpg')


def test_layout_counts_and_splits(small):
    root, summary = small
    assert summary['generated'] is True
    meta = json.loads((root / 'meta.json').read_text())
    ids = {}
    for split in SPLIT_DIRS:
        names = _images(root, split)
        assert names, split
        fields = [parse_image_name(n) for n in names]
        assert all(1 <= f['camid'] <= 6 for f in fields)
        ids[split] = {f['pid'] for f in fields}
        assert meta['counts'][split] == {'images': len(names), 'ids': len(ids[split])}
        assert summary['counts'][split] == meta['counts'][split]
    assert ids['bounding_box_train'] == {1, 2, 3}
    assert ids['query'] == ids['bounding_box_test'] == {4, 5, 6, 7}
    # Every identity is seen by at least two cameras.
    for split_ids, splits in ((ids['bounding_box_train'], ('bounding_box_train',)),
                              (ids['query'], ('query', 'bounding_box_test'))):
        cams = defaultdict(set)
        for split in splits:
            for n in _images(root, split):
                f = parse_image_name(n)
                cams[f['pid']].add(f['camid'])
        assert all(len(cams[p]) >= 2 for p in split_ids)


def test_every_query_has_a_cross_camera_match(small):
    root, _ = small
    gallery = {(f['pid'], f['camid']) for f in map(parse_image_name,
                                                    _images(root, 'bounding_box_test'))}
    per_id_cams = defaultdict(list)
    for n in _images(root, 'query'):
        f = parse_image_name(n)
        per_id_cams[f['pid']].append(f['camid'])
        assert any(p == f['pid'] and c != f['camid'] for p, c in gallery)
    # One query per camera for the cameras that give queries.
    assert all(len(c) == len(set(c)) for c in per_id_cams.values())


def test_label_maps_follow_the_schemes(small):
    root, _ = small
    for split in SPLIT_DIRS:
        for name in _images(root, split):
            stem = name[:-4]
            img = cv2.imread(str(root / split / name))
            atoms = cv2.imread(str(root / 'masks' / 'atoms13' / split / f'{stem}.png'),
                               cv2.IMREAD_UNCHANGED)
            assert atoms.dtype == np.uint8 and atoms.shape == img.shape[:2] == (64, 32)
            assert atoms.max() <= 13 and (atoms > 0).sum() > 50
            for scheme in ('bpbreid8', 'pal7'):
                lab = cv2.imread(str(root / 'masks' / scheme / split / f'{stem}.png'),
                                 cv2.IMREAD_UNCHANGED)
                assert lab.max() <= get_part_scheme(scheme).num_parts
                assert np.array_equal(lab, get_part_scheme(scheme).from_atoms(atoms))
    assert not (root / 'masks' / 'bpbreid5').exists()


def test_keypoint_json(small):
    root, _ = small
    for split in SPLIT_DIRS:
        coco = json.loads((root / 'keypoints' / f'{split}.json').read_text())
        cat = coco['categories'][0]
        assert cat['name'] == 'person' and cat['keypoints'] == list(COCO_KEYPOINTS)
        assert len(cat['skeleton']) == 19
        files = [im['file_name'] for im in coco['images']]
        assert files == _images(root, split)
        by_id = {im['id']: im for im in coco['images']}
        assert len(coco['annotations']) == len(files)
        for ann in coco['annotations']:
            im = by_id[ann['image_id']]
            assert (im['height'], im['width']) == (64, 32)
            assert im['pid'] == parse_image_name(im['file_name'])['pid']
            kps = np.array(ann['keypoints'], dtype=float).reshape(17, 3)
            assert set(kps[:, 2]) <= {0, 1, 2}
            assert ann['num_keypoints'] == int((kps[:, 2] > 0).sum())
            inside = (kps[:, 0] >= 0) & (kps[:, 0] < 32) & (kps[:, 1] >= 0) & (kps[:, 1] < 64)
            assert np.array_equal(kps[:, 2] > 0, inside)
            # A person is upright: shoulders above hips above ankles.
            assert kps[5, 1] < kps[11, 1] < kps[15, 1]


def test_meta_lists_occluded_images(small):
    root, summary = small
    meta = json.loads((root / 'meta.json').read_text())
    assert meta['seed'] == 5 and meta['params']['img_size'] == [64, 32]
    assert meta['params']['occlusion'] == {'train': 0.2, 'query': 0.5, 'gallery': 0.25}
    assert summary['num_occluded'] == len(meta['occluded']) > 0
    for rel in meta['occluded']:
        assert (root / rel).is_file()


def test_all_occluded_queries_have_less_foreground(tmp_path):
    common = dict(SMALL, num_train_ids=0, num_test_ids=3)
    clean = generate_synthetic_dataset(tmp_path / 'clean', **dict(
        common, occlusion=dict(query=0.0, gallery=0.0)))
    occ = generate_synthetic_dataset(tmp_path / 'occ', **dict(
        common, occlusion=dict(query=1.0, gallery=0.0)))
    meta = json.loads((tmp_path / 'occ' / 'meta.json').read_text())
    queries = _images(tmp_path / 'occ', 'query')
    assert sorted(meta['occluded']) == [f'query/{n}' for n in queries]
    assert clean['counts'] == occ['counts']
    for n in queries:
        rel = Path('masks') / 'atoms13' / 'query' / (n[:-4] + '.png')
        a = cv2.imread(str(tmp_path / 'clean' / rel), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(tmp_path / 'occ' / rel), cv2.IMREAD_UNCHANGED)
        assert (b > 0).sum() < (a > 0).sum()
        assert np.all((a == b) | (b == 0))
    # The gallery is rendered identically in both sets.
    for n in _images(tmp_path / 'occ', 'bounding_box_test'):
        assert (tmp_path / 'occ' / 'bounding_box_test' / n).read_bytes() == \
            (tmp_path / 'clean' / 'bounding_box_test' / n).read_bytes()


def test_deterministic_and_independent_of_workers(small, tmp_path):
    root, _ = small
    ref = _files(root)
    again = generate_synthetic_dataset(tmp_path / 'again', **SMALL)
    assert again['counts'] == json.loads((root / 'meta.json').read_text())['counts']
    assert _files(tmp_path / 'again') == ref
    generate_synthetic_dataset(tmp_path / 'two', num_workers=2, **SMALL)
    assert _files(tmp_path / 'two') == ref
    assert (tmp_path / 'two' / 'meta.json').read_text() == (root / 'meta.json').read_text()
    generate_synthetic_dataset(tmp_path / 'other', **dict(SMALL, seed=6))
    other = _files(tmp_path / 'other')
    assert other != ref
    # No image of the other seed equals one of the first.
    assert not {v for k, v in other.items() if k.endswith('.jpg')} & \
        {v for k, v in ref.items() if k.endswith('.jpg')}


def test_idempotent_and_overwrite(small, tmp_path):
    root, _ = small
    again = generate_synthetic_dataset(root, **SMALL)
    assert again['generated'] is False and again['counts'] == small[1]['counts']
    out = tmp_path / 'set'
    generate_synthetic_dataset(out, **SMALL)
    with pytest.raises(FileExistsError):
        generate_synthetic_dataset(out, **dict(SMALL, num_test_ids=2))
    (out / 'notes.txt').write_text('kept')
    summary = generate_synthetic_dataset(out, overwrite=True, **dict(SMALL, num_test_ids=2))
    assert summary['generated'] is True
    assert {parse_image_name(n)['pid'] for n in _images(out, 'query')} == {4, 5}
    assert not any(parse_image_name(n)['pid'] > 5 for n in _images(out, 'bounding_box_test'))
    assert (out / 'notes.txt').read_text() == 'kept'


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_synthetic_dataset(tmp_path, images_per_id=1)
    with pytest.raises(ValueError):
        generate_synthetic_dataset(tmp_path, occlusion=dict(probe=0.5))
    with pytest.raises(KeyError):
        generate_synthetic_dataset(tmp_path, schemes=('no_such_scheme',))
    assert not any(tmp_path.iterdir())


def test_command_line_tool(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location('generate_synthetic_tool', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'cli'
    monkeypatch.setattr(sys, 'argv', [str(TOOL), str(out), '--train-ids', '2', '--test-ids',
                                      '2', '--images-per-id', '2', '3', '--size', '64', '32',
                                      '--schemes', 'bpbreid5', '--seed', '1'])
    tool.main()
    summary = json.loads(capsys.readouterr().out)
    assert summary['generated'] is True and summary['seed'] == 1
    assert summary['counts']['bounding_box_train']['ids'] == 2
    assert (out / 'masks' / 'bpbreid5' / 'query').is_dir()
    img = cv2.imread(str(next((out / 'query').glob('*.jpg'))))
    assert img.shape == (64, 32, 3)
