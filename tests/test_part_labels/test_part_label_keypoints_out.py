"""Saving the pose keypoints the label generator found: layout, round trip, resume."""
import json
import os
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from test_part_label_generate import _front, make_dataset

from mmreidparts.part_labels import (
    KeypointFileBackend,
    LabelTask,
    PifPafFieldBackend,
    collect_tasks,
    load_coco_keypoints,
    output_path,
    read_label_map,
    run_generation,
)
from mmreidparts.part_labels import generate as generate_module
from mmreidparts.part_labels.coco_keypoints import read_skeletons
from mmreidparts.part_labels.mediapipe_backend import MEDIAPIPE_TO_COCO, MediaPipeBackend
from mmreidparts.structures.part_schemes import get_part_scheme


class CountingKeypoints(KeypointFileBackend):
    """The keypoints backend, counting the inputs it labels; stops after ``stop_after``."""

    def __init__(self, keypoint_dir: str, stop_after: int = -1) -> None:
        super().__init__(keypoint_dir)
        self.calls = 0
        self.stop_after = stop_after

    def atoms_and_keypoints(self, task):
        if self.calls == self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return super().atoms_and_keypoints(task)


def test_saved_keypoints_round_trip_through_the_keypoints_backend(tmp_path):
    root = make_dataset(str(tmp_path / 'data'))
    out_kp = str(tmp_path / 'saved_keypoints')
    summary = run_generation(KeypointFileBackend(osp.join(root, 'keypoints')), root,
                             ['atoms13'], out_root=str(tmp_path / 'a'), progress=False,
                             keypoint_dir=out_kp)
    assert summary['atoms13']['keypoints']['images'] == {'bounding_box_train': 5}
    assert summary['atoms13']['keypoints']['with_person'] == {'bounding_box_train': 4}
    path = osp.join(out_kp, 'bounding_box_train.json')
    coco = json.load(open(path))
    assert [im['file_name'] for im in coco['images']] == [
        f'{i:04d}_c1s1_000000_00.jpg' for i in range(1, 6)]
    assert coco['images'][0]['height'] == 128 and coco['images'][0]['width'] == 64
    assert coco['categories'][0]['keypoints'][5] == 'left_shoulder'
    people = load_coco_keypoints(path)
    assert people['0002_c1s1_000000_00.jpg'] == []  # image 1 has no person: listed, empty
    assert np.array_equal(people['0003_c1s1_000000_00.jpg'][0], _front(2))
    ann = coco['annotations'][0]
    assert ann['num_keypoints'] == 15 and ann['bbox'] == [16.0, 12.0, 32.0, 102.0]
    # labels drawn from the saved keypoints equal those of the original files
    run_generation(KeypointFileBackend(out_kp), root, ['atoms13'],
                   out_root=str(tmp_path / 'b'), progress=False)
    for task in collect_tasks(root):
        a = read_label_map(output_path(str(tmp_path / 'a'), 'atoms13', task))
        b = read_label_map(output_path(str(tmp_path / 'b'), 'atoms13', task))
        assert np.array_equal(a, b), task.name


def test_existing_label_files_do_not_block_missing_keypoints(tmp_path):
    root = make_dataset(str(tmp_path / 'data'))
    masks, out_kp = str(tmp_path / 'masks'), str(tmp_path / 'kp')
    run_generation(KeypointFileBackend(osp.join(root, 'keypoints')), root, ['bpbreid8'],
                   out_root=masks, progress=False)  # labels only
    task = collect_tasks(root)[2]
    label_file = output_path(masks, 'bpbreid8', task)
    os.utime(label_file, ns=(1, 1))
    backend = CountingKeypoints(osp.join(root, 'keypoints'))
    summary = run_generation(backend, root, ['bpbreid8'], out_root=masks, progress=False,
                             keypoint_dir=out_kp)
    assert backend.calls == 5  # every image run again for its keypoints ...
    assert os.stat(label_file).st_mtime_ns == 1  # ... its label file left untouched
    assert summary['bpbreid8']['keypoints']['images'] == {'bounding_box_train': 5}
    assert sum(summary['bpbreid8']['coverage']['torso'].values()) > 0  # counts from the files
    again = CountingKeypoints(osp.join(root, 'keypoints'))
    run_generation(again, root, ['bpbreid8'], out_root=masks, progress=False,
                   keypoint_dir=out_kp)
    assert again.calls == 0  # labels and keypoints complete: nothing to do


def test_an_interrupted_run_keeps_the_flushed_keypoints(tmp_path, monkeypatch):
    root = make_dataset(str(tmp_path / 'data'))
    masks, out_kp = str(tmp_path / 'masks'), str(tmp_path / 'kp')
    monkeypatch.setattr(generate_module, 'KEYPOINT_FLUSH', 2)
    with pytest.raises(KeyboardInterrupt):
        run_generation(CountingKeypoints(osp.join(root, 'keypoints'), stop_after=3), root,
                       ['bpbreid8'], out_root=masks, progress=False, keypoint_dir=out_kp)
    saved = read_skeletons(osp.join(out_kp, 'bounding_box_train.json'))
    assert len(saved) == 3  # flushed at 2, and once more when the run stopped
    rest = CountingKeypoints(osp.join(root, 'keypoints'))
    run_generation(rest, root, ['bpbreid8'], out_root=masks, progress=False,
                   keypoint_dir=out_kp)
    assert rest.calls == 2
    assert len(read_skeletons(osp.join(out_kp, 'bounding_box_train.json'))) == 5


def test_backends_without_a_pose_refuse_to_save_keypoints(tmp_path):
    root = make_dataset(str(tmp_path / 'data'))
    with pytest.raises(ValueError, match='finds no pose keypoints'):
        run_generation(PifPafFieldBackend(), root, ['bpbreid5'], progress=False,
                       keypoint_dir=str(tmp_path / 'kp'), tasks=[])


class FakePose:
    """Stands for mediapipe's Pose graph: fixed landmarks on the letterboxed square."""

    def __init__(self, landmarks):
        self.landmarks = landmarks

    def process(self, image):
        side = image.shape[0]
        mask = np.zeros((side, side), np.float32)
        mask[side // 8:, side // 3:2 * side // 3] = 1.0
        lms = [SimpleNamespace(x=x, y=y, visibility=v) for x, y, v in self.landmarks]
        return SimpleNamespace(pose_landmarks=SimpleNamespace(landmark=lms),
                               segmentation_mask=mask)


def test_mediapipe_landmarks_are_saved_as_coco_17(tmp_path):
    img = np.zeros((128, 64, 3), np.uint8)
    path = str(tmp_path / '0001_c1s1_000000_00.jpg')
    cv2.imwrite(path, img)
    # the crop is upscaled to 512 x 256 and centred in a 512 square (128 px left padding):
    # landmark j sits at crop pixel (x, y) = (16 + j, 8 + 3 j), with visibility 0.9
    side, scale, left = 512.0, 4.0, 128.0
    landmarks = [((left + (16 + j) * scale) / side, (8 + 3 * j) * scale / side, 0.9)
                 for j in range(33)]
    backend = MediaPipeBackend(target_height=512)
    backend._pose = FakePose(landmarks)
    task = LabelTask('query', path, osp.basename(path), '0001_c1s1_000000_00', path)
    maps, kps = backend.label_maps_and_keypoints(task, [get_part_scheme('atoms13')])
    expected = np.array([(16 + j, 8 + 3 * j, 2.0) for j in MEDIAPIPE_TO_COCO])
    assert np.allclose(kps, expected)
    assert maps['atoms13'].shape == (128, 64) and maps['atoms13'].max() > 0


def test_synthetic_keypoints_are_in_the_same_layout(tmp_path):
    from mmreidparts.synthetic import generate_synthetic_dataset
    root = str(tmp_path / 'synthetic')
    generate_synthetic_dataset(root, num_train_ids=2, num_test_ids=2, images_per_id=(2, 2),
                               img_size=(64, 32), schemes=('atoms13', ))
    tasks = collect_tasks(root, ['query'])
    run_generation(KeypointFileBackend(osp.join(root, 'keypoints')), root, ['atoms13'],
                   out_root=str(tmp_path / 'masks'), progress=False, tasks=tasks,
                   keypoint_dir=str(tmp_path / 'kp'))
    exact = read_skeletons(osp.join(root, 'keypoints', 'query.json'))
    saved = read_skeletons(str(tmp_path / 'kp' / 'query.json'))
    assert sorted(saved) == sorted(exact) == sorted(t.name for t in tasks)
    for name, entry in exact.items():
        assert (entry['height'], entry['width']) == (64, 32)
        assert np.array_equal(saved[name]['people'][0], entry['people'][0]), name
