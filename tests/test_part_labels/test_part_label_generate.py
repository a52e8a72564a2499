"""The label generator: layout, summary, corrupt images, resume, atomic writes, tool, IoU."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmreidparts.part_labels import (
    KeypointFileBackend,
    assign_atoms,
    collect_tasks,
    compare_label_dirs,
    output_path,
    read_label_map,
    run_generation,
    write_visualization,
)
from mmreidparts.part_labels.generate import TMP_PREFIX, write_bytes_atomic
from mmreidparts.part_labels.skeleton import KP
from mmreidparts.structures.part_schemes import get_part_scheme

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _front(dx: float = 0.0) -> np.ndarray:
    pts = dict(nose=(32, 14), l_eye=(34, 12), r_eye=(30, 12), l_shoulder=(42, 28),
               r_shoulder=(22, 28), l_elbow=(46, 46), r_elbow=(18, 46), l_wrist=(48, 62),
               r_wrist=(16, 62), l_hip=(38, 66), r_hip=(26, 66), l_knee=(39, 90),
               r_knee=(25, 90), l_ankle=(40, 114), r_ankle=(24, 114))
    kps = np.zeros((17, 3))
    for name, (x, y) in pts.items():
        kps[KP[name]] = (x + dx, y, 2)
    return kps


def make_dataset(root: str, num: int = 5, corrupt: bool = False) -> str:
    """``num`` 64 x 128 images in bounding_box_train + COCO keypoints; image 1 has none."""
    split = osp.join(root, 'bounding_box_train')
    os.makedirs(split)
    os.makedirs(osp.join(root, 'keypoints'))
    rng = np.random.default_rng(0)
    images, anns = [], []
    for i in range(num):
        name = f'{i + 1:04d}_c1s1_000000_00.jpg'
        cv2.imwrite(osp.join(split, name), rng.integers(0, 255, (128, 64, 3), np.uint8))
        images.append(dict(id=i, file_name=name, width=64, height=128))
        if i != 1:
            anns.append(dict(id=len(anns), image_id=i, category_id=1,
                             keypoints=_front(i % 3).ravel().tolist()))
    if corrupt:
        with open(osp.join(split, '0099_c1s1_000000_00.jpg'), 'wb') as f:
            f.write(b'this is not a jpeg')
    with open(osp.join(root, 'keypoints', 'bounding_box_train.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=[]), f)
    return root


class CountingBackend(KeypointFileBackend):
    """Keypoint backend that counts calls and can stop the run after ``stop_after`` calls."""

    def __init__(self, keypoint_dir: str, stop_after: int = -1) -> None:
        super().__init__(keypoint_dir)
        self.calls = 0
        self.stop_after = stop_after

    def atom_map(self, task):
        if self.calls == self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return super().atom_map(task)


def test_keypoint_backend_layout_and_summary(tmp_path) -> None:
    root = make_dataset(str(tmp_path / 'data'))
    backend = KeypointFileBackend(osp.join(root, 'keypoints'))
    out = run_generation(backend, root, ['bpbreid8', 'atoms13'], progress=False)
    path = osp.join(root, 'masks', 'bpbreid8', 'bounding_box_train', '0001_c1s1_000000_00.png')
    labels = read_label_map(path)
    expected = get_part_scheme('bpbreid8').from_atoms(assign_atoms(_front(0), (128, 64)))
    np.testing.assert_array_equal(labels, expected)
    # the image without keypoints gets an all-background map and counts as no person
    empty = read_label_map(path.replace('0001_', '0002_'))
    assert empty.shape == (128, 64) and empty.max() == 0
    s = out['bpbreid8']
    assert (s['images'], s['processed'], s['with_person'], s['no_person']) == (5, 5, 4, 1)
    assert s['person_found_share'] == 0.8 and s['unreadable'] == []
    # coverage: feet are present in every image with a person
    assert s['coverage']['l_foot']['image_share'] == 1.0
    assert 0 < s['coverage']['torso']['pixel_share'] < 0.5
    with open(osp.join(root, 'masks', 'bpbreid8', 'summary.json')) as f:
        assert json.load(f)['no_person'] == 1
    assert set(out['atoms13']['coverage']) == set(get_part_scheme('atoms13').names)


def test_corrupt_image_is_reported_and_skipped(tmp_path, caplog) -> None:
    root = make_dataset(str(tmp_path / 'data'), num=3, corrupt=True)
    backend = KeypointFileBackend(osp.join(root, 'keypoints'))
    s = run_generation(backend, root, ['bpbreid5'], progress=False)['bpbreid5']
    bad = osp.join(root, 'bounding_box_train', '0099_c1s1_000000_00.jpg')
    assert [u['path'] for u in s['unreadable']] == [bad]
    assert 'cannot decode' in s['unreadable'][0]['error']
    assert s['processed'] == 3 and s['labelled'] == 3
    assert not osp.exists(osp.join(root, 'masks', 'bpbreid5', 'bounding_box_train',
                                   '0099_c1s1_000000_00.png'))
    assert any('0099_c1s1_000000_00.jpg' in r.getMessage() for r in caplog.records)


def test_interrupted_run_resumes_without_rework(tmp_path) -> None:
    root = make_dataset(str(tmp_path / 'data'), num=6)
    kp_dir = osp.join(root, 'keypoints')
    first = CountingBackend(kp_dir, stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_generation(first, root, ['pal7', 'bpbreid8'], progress=False)
    mask_dir = osp.join(root, 'masks', 'pal7', 'bounding_box_train')
    assert sorted(os.listdir(mask_dir)) == ['0001_c1s1_000000_00.png',
                                            '0002_c1s1_000000_00.png']
    # a temporary file left by a killed worker is cleaned up, never taken for a label file
    with open(osp.join(mask_dir, TMP_PREFIX + 'x.tmp'), 'wb') as f:
        f.write(b'partial')
    second = CountingBackend(kp_dir)
    s = run_generation(second, root, ['pal7', 'bpbreid8'], progress=False)['pal7']
    assert second.calls == 4
    assert (s['processed'], s['skipped_existing'], s['images']) == (4, 2, 6)
    assert s['with_person'] == 5  # statistics include the files of the first run
    assert not any(n.startswith(TMP_PREFIX) for n in os.listdir(mask_dir))
    third = CountingBackend(kp_dir)
    run_generation(third, root, ['pal7', 'bpbreid8'], progress=False)
    assert third.calls == 0
    # asking for a new scheme relabels the images (its files do not exist yet)
    fourth = CountingBackend(kp_dir)
    run_generation(fourth, root, ['pal7', 'bpbreid3'], progress=False)
    assert fourth.calls == 6


def test_atomic_write_leaves_nothing_on_interrupt(tmp_path, monkeypatch) -> None:
    target = str(tmp_path / 'a.png')

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'replace', interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(target, b'data')
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    write_bytes_atomic(target, b'data')
    assert os.listdir(tmp_path) == ['a.png']


def test_worker_pool_matches_in_process_run(tmp_path) -> None:
    root = make_dataset(str(tmp_path / 'data'), num=6)
    backend = KeypointFileBackend(osp.join(root, 'keypoints'))
    run_generation(backend, root, ['bpbreid8'], out_root=str(tmp_path / 'a'), progress=False)
    s = run_generation(backend, root, ['bpbreid8'], out_root=str(tmp_path / 'b'), workers=2,
                       progress=False)['bpbreid8']
    assert s['processed'] == 6
    for task in collect_tasks(root):
        np.testing.assert_array_equal(
            read_label_map(output_path(str(tmp_path / 'a'), 'bpbreid8', task)),
            read_label_map(output_path(str(tmp_path / 'b'), 'bpbreid8', task)))


def test_limit_samples_evenly(tmp_path) -> None:
    root = make_dataset(str(tmp_path / 'data'), num=5)
    tasks = collect_tasks(root, limit=3)
    assert [t.out for t in tasks] == [f'{i:04d}_c1s1_000000_00' for i in (1, 3, 5)]
    with pytest.raises(FileNotFoundError, match='split folders'):
        collect_tasks(str(tmp_path))


def test_bad_keypoint_file_names_the_file(tmp_path) -> None:
    root = make_dataset(str(tmp_path / 'data'), num=2)
    path = osp.join(root, 'keypoints', 'bounding_box_train.json')
    with open(path, 'w') as f:
        json.dump(dict(images=[dict(id=0, file_name='a.jpg')],
                       annotations=[dict(image_id=0, keypoints=[1, 2, 3])]), f)
    backend = KeypointFileBackend(osp.join(root, 'keypoints'))
    with pytest.raises(ValueError, match='bounding_box_train.json.*51'):
        run_generation(backend, root, ['bpbreid8'], progress=False)


def test_visualization_sheet(tmp_path) -> None:
    root = make_dataset(str(tmp_path / 'data'), num=4)
    backend = KeypointFileBackend(osp.join(root, 'keypoints'))
    run_generation(backend, root, ['bpbreid8'], progress=False)
    path = write_visualization(collect_tasks(root), osp.join(root, 'masks'), 'bpbreid8', 3,
                               str(tmp_path / 'sheet.png'))
    sheet = cv2.imread(path)
    # 3 tiles of (96 + 2 + 96) px at height 192, 4 px gaps, plus a legend strip
    assert sheet.shape[1] == 3 * (194 + 4) and sheet.shape[0] > 192 + 4


def test_compare_label_dirs_iou_by_hand(tmp_path) -> None:
    true = np.zeros((4, 4), np.uint8)
    true[:2] = 1  # head: 8 pixels
    true[2:, :2] = 2  # l_arm: 4 pixels
    pred = np.zeros((4, 4), np.uint8)
    pred[:1] = 1  # head: 4 pixels, all correct
    pred[2:] = 2  # l_arm: 8 pixels, 4 correct
    for root, labels in (('true', true), ('pred', pred)):
        os.makedirs(tmp_path / root / 'bpbreid8' / 'query')
        cv2.imwrite(str(tmp_path / root / 'bpbreid8' / 'query' / 'a.png'), labels)
    res = compare_label_dirs(str(tmp_path / 'pred'), str(tmp_path / 'true'), 'bpbreid8')
    assert res['iou']['head'] == 0.5 and res['iou']['l_arm'] == 0.5
    assert np.isnan(res['iou']['torso']) and res['miou'] == 0.5
    # person pixels: 12 true, 12 predicted, 8 shared -> 8 / 16
    assert res['foreground_iou'] == 0.5 and res['images'] == 1


def test_tool_runs_and_writes_summary(tmp_path) -> None:
    root = make_dataset(str(tmp_path / 'data'), num=2)
    tool = osp.join(REPO, 'tools', 'dataset_converters', 'generate_part_labels.py')
    proc = subprocess.run(
        [sys.executable, tool, root, '--backend', 'keypoints', '--schemes', 'bpbreid8', 'pal7',
         '--no-progress', '--visualize', '2', '--out-root', str(tmp_path / 'masks')],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert '"with_person": 1' in proc.stdout
    assert osp.isfile(tmp_path / 'masks' / 'pal7' / 'summary.json')
    assert osp.isfile(tmp_path / 'masks' / 'bpbreid8' / 'visualization.jpg')


def test_package_does_not_import_mediapipe() -> None:
    code = ('import sys, mmreidparts.part_labels, mmreidparts.part_labels.mediapipe_backend; '
            'assert "mediapipe" not in sys.modules')
    subprocess.run([sys.executable, '-c', code], check=True)
