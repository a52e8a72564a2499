"""Soft part fields and VPM region maps follow the image through resize, crop and erasing."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.transforms import (
    LoadPartLabel,
    LoadReIDImage,
    PadRandomCrop,
    RandomErasing,
    ReIDRandomFlip,
    ReIDResize,
    VPMRandomCrop,
)
from mmreidparts.datasets.transforms.processing import REGION_IGNORE


def _marked(h: int = 4, w: int = 4, y: int = 1, x: int = 2) -> dict:
    """A record whose image, label map, soft fields and region map all mark pixel (y, x)."""
    img = np.full((h, w, 3), 20, dtype=np.uint8)  # [H, W, 3]
    img[y, x] = (200, 210, 220)
    seg = np.zeros((h, w), dtype=np.uint8)
    seg[y, x] = 4
    fields = np.full((2, h, w), 0.25, dtype=np.float32)  # [K=2, H, W]
    fields[1, y, x] = 0.75
    region = np.ones((h, w), dtype=np.uint8)
    region[y, x] = 3
    return dict(img=img, gt_seg_map=seg, gt_part_fields=fields, gt_region_map=region,
                part_scheme='bpbreid8', img_shape=(h, w), ori_shape=(h, w), img_path='m.jpg')


def test_resize_soft_field_bilinear_and_region_map_nearest():
    # Channel 0 = [[0, 4], [8, 12]]; OpenCV's half-pixel bilinear upscale by 2 samples
    # source coordinates (0, 0.25, 0.75, 1) along each axis, so out[i, j] = 8 r_i + 4 c_j.
    fields = np.stack([np.array([[0, 4], [8, 12]], np.float32),
                       np.array([[1, 0], [0, 0]], np.float32)])  # [2, 2, 2]
    region = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    res = dict(img=np.zeros((2, 2, 3), np.uint8), gt_part_fields=fields, gt_region_map=region)
    out = ReIDResize(scale=(4, 4))(res)
    np.testing.assert_allclose(out['gt_part_fields'][0], [[0, 1, 3, 4],
                                                          [2, 3, 5, 6],
                                                          [6, 7, 9, 10],
                                                          [8, 9, 11, 12]], atol=1e-6)
    w = np.array([1, 0.75, 0.25, 0], np.float32)  # weight of source row/column 0
    np.testing.assert_allclose(out['gt_part_fields'][1], np.outer(w, w), atol=1e-6)
    assert out['gt_part_fields'].dtype == np.float32
    assert out['gt_part_fields'].shape == (2, 4, 4)
    np.testing.assert_array_equal(out['gt_region_map'], np.kron(region, np.ones((2, 2), int)))
    assert out['gt_region_map'].dtype == np.uint8
    # an int64 region map (what the VPM projection computes) keeps its dtype
    res = dict(img=np.zeros((2, 2, 3), np.uint8), gt_region_map=region.astype(np.int64))
    out = ReIDResize(scale=(4, 4))(res)
    assert out['gt_region_map'].dtype == np.int64
    np.testing.assert_array_equal(out['gt_region_map'], np.kron(region, np.ones((2, 2), int)))


def test_resize_rejects_label_fields_of_another_size():
    res = dict(img=np.zeros((2, 2, 3), np.uint8), gt_part_fields=np.zeros((2, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r'gt_part_fields .* expected \[K, 2, 2\]'):
        ReIDResize(scale=(4, 4))(res)
    res = dict(img=np.zeros((2, 2, 3), np.uint8), gt_region_map=np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match=r'gt_region_map .* expected \(2, 2\)'):
        PadRandomCrop(padding=1)(res)


def test_crop_moves_marked_pixel_in_every_label_field(monkeypatch):
    t = PadRandomCrop(padding=1)
    monkeypatch.setattr(t, '_offset', lambda: (0, 2))
    out = t(_marked())
    # Window rows 0..3, columns 2..5 of the 6x6 padded map: (1, 2) -> (2, 1).
    assert tuple(np.argwhere(out['img'][..., 0] == 200)[0]) == (2, 1)
    assert tuple(np.argwhere(out['gt_seg_map'] == 4)[0]) == (2, 1)
    assert tuple(np.argwhere(out['gt_part_fields'][1] == 0.75)[0]) == (2, 1)
    assert tuple(np.argwhere(out['gt_region_map'] == 3)[0]) == (2, 1)
    # padding: row 0 and column 3 are new; image pad_val 0, seg 0, fields 0, region ignore
    pad = np.zeros((4, 4), bool)
    pad[0, :] = pad[:, 3] = True
    assert np.all(out['img'][pad] == 0)
    assert np.all(out['gt_seg_map'][pad] == 0)
    assert np.all(out['gt_part_fields'][:, pad] == 0)
    assert np.all(out['gt_region_map'][pad] == REGION_IGNORE)
    assert np.all(out['gt_part_fields'][0][~pad] == 0.25)
    assert np.all(out['gt_region_map'][~pad] == [1, 1, 1, 1, 3, 1, 1, 1, 1])  # rows 1..3
    assert out['gt_part_fields'].dtype == np.float32 and out['gt_region_map'].dtype == np.uint8


@pytest.mark.parametrize('top,left', [(0, 0), (2, 2), (1, 1), (4, 0), (3, 1)])
def test_crop_offsets_move_all_fields_like_the_image(monkeypatch, top, left):
    t = PadRandomCrop(padding=2, region_pad_val=7)
    monkeypatch.setattr(t, '_offset', lambda: (top, left))
    out = t(_marked(h=5, w=4, y=2, x=1))
    y, x = 2 + 2 - top, 1 + 2 - left  # marked pixel in the window
    for key, mask in (('img', out['img'][..., 0] == 200), ('gt_seg_map', out['gt_seg_map'] == 4),
                      ('gt_part_fields', out['gt_part_fields'][1] == 0.75),
                      ('gt_region_map', out['gt_region_map'] == 3)):
        assert [tuple(p) for p in np.argwhere(mask)] == [(y, x)], key
    # the pixels the image took from the padding carry the padding values in every field
    pad = np.all(out['img'] == 0, axis=-1)
    assert pad.sum() == 5 * 4 - (5 - abs(top - 2)) * (4 - abs(left - 2))
    assert np.all(out['gt_region_map'][pad] == 7)
    assert np.all(out['gt_part_fields'][:, pad] == 0)
    assert np.all(out['gt_region_map'][~pad] != 7)
    assert np.all(out['gt_part_fields'][0][~pad] == 0.25)


def test_erasing_zeroes_soft_fields_where_the_image_was_erased():
    np.random.seed(5)
    t = RandomErasing(prob=1.0, area_range=(0.2, 0.3), min_aspect=0.5)
    for _ in range(10):
        res = _marked(h=8, w=6, y=3, x=2)
        res['img'][:] = 200  # every pixel differs from the fill (104, 116, 124)
        img0, fields0 = res['img'].copy(), res['gt_part_fields'].copy()
        region0 = res['gt_region_map'].copy()
        out = t(res)
        erased = np.any(out['img'] != img0, axis=-1)  # [H, W]
        top, left, eh, ew = out['erase_box']
        assert erased.sum() == eh * ew and erased[top:top + eh, left:left + ew].all()
        assert np.all(out['gt_part_fields'][:, erased] == 0)
        np.testing.assert_array_equal(out['gt_part_fields'][:, ~erased], fields0[:, ~erased])
        np.testing.assert_array_equal(out['gt_region_map'], region0)  # regions stay
        assert np.all(out['gt_seg_map'][erased] == 0)
    # no box: nothing changes
    res = _marked()
    out = RandomErasing(prob=0.0)(res)
    np.testing.assert_array_equal(out['gt_part_fields'][1, 1], [0.25, 0.25, 0.75, 0.25])


def test_erasing_fixed_box_hand_worked(monkeypatch):
    t = RandomErasing(prob=1.0)
    monkeypatch.setattr(t, '_box', lambda h, w: (1, 1, 2, 2))
    out = t(_marked())
    expected = np.array([[0.25, 0.25, 0.25, 0.25],
                         [0.25, 0.0, 0.0, 0.25],
                         [0.25, 0.0, 0.0, 0.25],
                         [0.25, 0.25, 0.25, 0.25]], np.float32)
    np.testing.assert_array_equal(out['gt_part_fields'][0], expected)
    np.testing.assert_array_equal(out['gt_part_fields'][1], expected)  # the marked 0.75 too
    np.testing.assert_array_equal(out['gt_region_map'], _marked()['gt_region_map'])


def test_pipeline_keeps_image_part_labels_and_regions_aligned(tmp_path, monkeypatch):
    # Holistic 24 x 8 image split by VPM into 6 stripes of 4 rows. Blue encodes the
    # stripe (40 * id); green marks a block in stripe 2, rows 8..11, columns 4..7, which
    # the part label map marks with id 4 (torso, its own mirror in bpbreid8).
    img = np.zeros((24, 8, 3), np.uint8)
    img[..., 0] = 40 * (np.arange(24) // 4)[:, None]
    img[8:12, 4:8, 1] = 200
    seg = np.zeros((24, 8), np.uint8)
    seg[8:12, 4:8] = 4
    cv2.imwrite(str(tmp_path / 'p.png'), img)
    cv2.imwrite(str(tmp_path / 'p_label.png'), seg)
    pad_crop = PadRandomCrop(padding=2)
    monkeypatch.setattr(pad_crop, '_offset', lambda: (0, 4))  # down 2, left 2
    pipeline = [LoadReIDImage(), LoadPartLabel(),
                VPMRandomCrop(crop_mode='top', ratio_range=(0.5, 0.5), label_stride=1),
                ReIDResize(scale=(12, 4)), pad_crop, ReIDRandomFlip(prob=1.0)]
    res = dict(img_path=str(tmp_path / 'p.png'), part_map_path=str(tmp_path / 'p_label.png'),
               part_scheme='bpbreid8')
    for t in pipeline:
        res = t(res)
    # The top half (rows 0..11, stripes 0..2) is stretched to 24 rows, then halved to 12
    # x 4: row y holds holistic row y again. The crop moves it down 2 and left 2 (columns
    # 2..3 become padding), the flip puts that padding on columns 0..1.
    i = REGION_IGNORE
    region = np.array([[i, i, i, i]] * 2 + [[i, i, 0, 0]] * 4 + [[i, i, 1, 1]] * 4
                      + [[i, i, 2, 2]] * 2, np.uint8)
    np.testing.assert_array_equal(res['gt_region_map'], region)
    marker = np.zeros((12, 4), np.uint8)
    marker[10:12, 2:4] = 4
    np.testing.assert_array_equal(res['gt_seg_map'], marker)
    # image: padding where the region map is ignore, the stripe colour elsewhere (bilinear
    # blending leaks at most 1/8 of a neighbour stripe), the green block on the marker
    pad = region == i
    assert np.all(res['img'][pad] == 0)
    np.testing.assert_array_equal(np.round(res['img'][..., 0][~pad] / 40), region[~pad])
    np.testing.assert_array_equal(res['img'][..., 1] > 100, marker == 4)
    assert res['img'][11, 2, 1] == 200 and res['img'][11, 2, 0] == 80
