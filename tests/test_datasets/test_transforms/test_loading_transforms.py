"""Tests of LoadReIDImage and LoadPartLabel."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.transforms import LoadPartLabel, LoadReIDImage
from mmreidparts.registry import TRANSFORMS

LABEL = np.array([[1, 1, 0, 0],
                  [2, 4, 4, 3],
                  [5, 0, 0, 6],
                  [7, 0, 0, 8]], dtype=np.uint8)


def _image(tmp_path, h=8, w=8, name='img.png'):
    img = np.random.RandomState(1).randint(0, 256, (h, w, 3), dtype=np.uint8)
    path = str(tmp_path / name)
    cv2.imwrite(path, img)
    return path, img


def _results(tmp_path, label_path, scheme='bpbreid8', source=None, h=8, w=8):
    img_path, _ = _image(tmp_path, h, w)
    results = LoadReIDImage()(dict(img_path=img_path))
    results.update(part_map_path=label_path, part_scheme=scheme, part_source_scheme=source)
    return results


def test_load_image_bgr_and_shapes(tmp_path):
    path, img = _image(tmp_path, 6, 4)
    out = TRANSFORMS.build(dict(type='LoadReIDImage'))(dict(img_path=path))
    assert out['img'].dtype == np.uint8
    np.testing.assert_array_equal(out['img'], img)  # PNG is lossless, channels kept BGR
    assert out['img_shape'] == (6, 4) and out['ori_shape'] == (6, 4)
    assert LoadReIDImage(to_float32=True)(dict(img_path=path))['img'].dtype == np.float32


def test_load_image_errors_name_the_file(tmp_path):
    missing = str(tmp_path / 'missing.jpg')
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        LoadReIDImage()(dict(img_path=missing))
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(b'\xff\xd8 definitely not a jpeg')
    with pytest.raises(ValueError, match='cannot decode') as err:
        LoadReIDImage()(dict(img_path=str(corrupt)))
    assert str(corrupt) in str(err.value)


@pytest.mark.parametrize('ext', ['.png', '.npy'])
def test_load_part_label_resized_nearest(tmp_path, ext):
    path = str(tmp_path / f'label{ext}')
    if ext == '.npy':
        np.save(path, LABEL.astype(np.int32))
    else:
        cv2.imwrite(path, LABEL)
    out = LoadPartLabel()(_results(tmp_path, path))
    assert out['gt_seg_map'].dtype == np.uint8
    # 4x4 -> 8x8 nearest: every id becomes a 2x2 block.
    np.testing.assert_array_equal(out['gt_seg_map'], np.kron(LABEL, np.ones((2, 2), np.uint8)))


def test_load_part_label_same_size_keeps_ignore(tmp_path):
    label = LABEL.copy()
    label[3, 1] = 255
    path = str(tmp_path / 'label.png')
    cv2.imwrite(path, label)
    out = LoadPartLabel()(_results(tmp_path, path, h=4, w=4))
    np.testing.assert_array_equal(out['gt_seg_map'], label)


def test_load_part_label_empty_map_as_ignore(tmp_path):
    empty = np.zeros((4, 4), np.uint8)
    empty[0, 0] = 255
    path = str(tmp_path / 'empty.png')
    cv2.imwrite(path, empty)
    # default: the stored map as is (all background but the ignored pixel)
    np.testing.assert_array_equal(LoadPartLabel()(_results(tmp_path, path, h=4, w=4))[
        'gt_seg_map'], empty)
    out = LoadPartLabel(empty_as_ignore=True)(_results(tmp_path, path, h=8, w=8))
    assert out['gt_seg_map'].shape == (8, 8) and (out['gt_seg_map'] == 255).all()
    # one part pixel is enough to keep the map
    one = empty.copy()
    one[3, 3] = 2
    cv2.imwrite(path, one)
    kept = LoadPartLabel(empty_as_ignore=True)(_results(tmp_path, path, h=4, w=4))
    np.testing.assert_array_equal(kept['gt_seg_map'], one)


def test_load_part_label_regroups_source_scheme(tmp_path):
    atoms = np.array([[1, 2, 3, 4],
                      [5, 6, 7, 8],
                      [9, 10, 11, 12],
                      [13, 0, 255, 0]], dtype=np.uint8)
    path = str(tmp_path / 'atoms.png')
    cv2.imwrite(path, atoms)
    out = LoadPartLabel()(_results(tmp_path, path, 'bpbreid8', 'atoms13', 4, 4))
    # head 1; torso atoms -> 4; left arm atoms -> 2; right arm -> 3; left leg -> 5;
    # right leg -> 6; l_foot -> 7; r_foot -> 8.
    expected = np.array([[1, 4, 4, 2],
                         [2, 3, 3, 5],
                         [5, 6, 6, 7],
                         [8, 0, 255, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    # bpbreid8 -> bpbreid3 (head, torso_arms, legs_feet) through the transform argument.
    path8 = str(tmp_path / 'b8.png')
    cv2.imwrite(path8, LABEL)
    out = LoadPartLabel(source_scheme='bpbreid8')(_results(tmp_path, path8, 'bpbreid3',
                                                           None, 4, 4))
    np.testing.assert_array_equal(out['gt_seg_map'], [[1, 1, 0, 0], [2, 2, 2, 2],
                                                      [3, 0, 0, 3], [3, 0, 0, 3]])


def test_load_part_label_id_above_k(tmp_path):
    label = LABEL.copy()
    label[0, 0] = 9
    path = str(tmp_path / 'bad.png')
    cv2.imwrite(path, label)
    with pytest.raises(ValueError) as err:
        LoadPartLabel()(_results(tmp_path, path))
    msg = str(err.value)
    assert path in msg and 'id 9' in msg and 'K=8' in msg and "'bpbreid8'" in msg
    # A bpbreid8 map read as bpbreid4 (K=4) fails on ids 5..8.
    path8 = str(tmp_path / 'b8.png')
    cv2.imwrite(path8, LABEL)
    with pytest.raises(ValueError, match='id 8.*K=4'):
        LoadPartLabel()(_results(tmp_path, path8, scheme='bpbreid4'))


def test_load_part_label_optional_missing_is_ignore(tmp_path):
    out = LoadPartLabel()(_results(tmp_path, None, h=6, w=3))
    assert out['gt_seg_map'].shape == (6, 3)
    assert out['gt_seg_map'].dtype == np.uint8 and np.all(out['gt_seg_map'] == 255)


def test_load_part_label_errors(tmp_path):
    missing = str(tmp_path / 'gone.png')
    with pytest.raises(FileNotFoundError, match='gone.png'):
        LoadPartLabel()(_results(tmp_path, missing))
    rgb = str(tmp_path / 'rgb.png')
    cv2.imwrite(rgb, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match='single-channel') as err:
        LoadPartLabel()(_results(tmp_path, rgb))
    assert rgb in str(err.value)
    corrupt = tmp_path / 'corrupt.png'
    corrupt.write_bytes(b'garbage')
    with pytest.raises(ValueError, match='cannot decode'):
        LoadPartLabel()(_results(tmp_path, str(corrupt)))
    arr = str(tmp_path / 'fields.npy')
    np.save(arr, np.zeros((36, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r'\(36, 4, 4\)'):
        LoadPartLabel()(_results(tmp_path, arr))
    with pytest.raises(KeyError, match='part_scheme'):
        LoadPartLabel()(_results(tmp_path, missing, scheme=None))
    with pytest.raises(KeyError, match='LoadReIDImage'):
        LoadPartLabel()(dict(part_map_path=None, part_scheme='bpbreid8'))
