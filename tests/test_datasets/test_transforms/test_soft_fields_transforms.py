"""ReIDRandomFlip and PackReIDInputs on soft part fields, VPM region maps and visibility."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmreidparts.datasets.transforms import PackReIDInputs, ReIDRandomFlip


def _fields(num_parts: int, h: int = 2, w: int = 3) -> np.ndarray:
    """``[K, H, W]`` fields whose value at (k, y, x) is ``k + 0.1 * x + 0.01 * y``."""
    k, y, x = np.meshgrid(np.arange(num_parts), np.arange(h), np.arange(w), indexing='ij')
    return (k + 0.1 * x + 0.01 * y).astype(np.float32)


def _results(**extra) -> dict:
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)  # [H=2, W=3, C=3]
    return dict(img=img, img_path='q/0002_c1s1_000451_03.jpg', pid=2, camid=0,
                is_query=True, img_shape=(2, 3), ori_shape=(2, 3), **extra)


def test_flip_swaps_left_right_field_channels_bpbreid8():
    # bpbreid8: 1 head, 2 l_arm, 3 r_arm, 4 torso, 5 l_leg, 6 r_leg, 7 l_foot, 8 r_foot;
    # flip_pairs (2, 3), (5, 6), (7, 8) -> channels 1<->2, 4<->5, 6<->7.
    fields = _fields(8)
    out = ReIDRandomFlip(prob=1.0)(_results(gt_part_fields=fields, part_scheme='bpbreid8'))
    flipped = out['gt_part_fields']
    assert flipped.shape == (8, 2, 3) and flipped.flags['C_CONTIGUOUS']
    # channel of each new part = old channel 0, 2, 1, 3, 5, 4, 7, 6; columns reversed
    np.testing.assert_allclose(flipped[:, 0, 0], [0.2, 2.2, 1.2, 3.2, 5.2, 4.2, 7.2, 6.2])
    np.testing.assert_allclose(flipped[1, 1, :], [2.21, 2.11, 2.01])  # old r_arm, row 1
    np.testing.assert_allclose(flipped[3, 0, :], [3.2, 3.1, 3.0])  # torso: mirrored only
    # flipping twice gives the fields back
    again = ReIDRandomFlip(prob=1.0)(dict(out))['gt_part_fields']
    np.testing.assert_allclose(again, fields)


def test_flip_fields_of_a_scheme_with_reversed_pairs_and_without_pairs():
    # bpbreid6: 1 head, 2 torso, 3 r_arm, 4 l_arm, 5 legs, 6 feet; flip pair (4, 3)
    out = ReIDRandomFlip(prob=1.0)(_results(gt_part_fields=_fields(6), part_scheme='bpbreid6'))
    np.testing.assert_allclose(out['gt_part_fields'][:, 0, 2], [0.0, 1.0, 3.0, 2.0, 4.0, 5.0])
    # bpbreid5 has no left/right parts: channels stay, columns are mirrored
    out = ReIDRandomFlip(prob=1.0)(_results(gt_part_fields=_fields(5), part_scheme='bpbreid5'))
    np.testing.assert_allclose(out['gt_part_fields'][:, 1, 0], [0.21, 1.21, 2.21, 3.21, 4.21])


def test_flip_mirrors_region_map_without_swapping():
    region = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.uint8)
    out = ReIDRandomFlip(prob=1.0)(_results(gt_region_map=region,
                                            region_visibility=np.ones(6, np.float32)))
    np.testing.assert_array_equal(out['gt_region_map'], [[2, 1, 0], [5, 4, 3]])
    assert out['gt_region_map'].dtype == np.uint8
    np.testing.assert_array_equal(out['region_visibility'], np.ones(6))
    # stripes (one id per row, VPM's layout) are unchanged by the mirror
    stripes = np.repeat(np.arange(2, dtype=np.uint8)[:, None], 3, axis=1)
    out = ReIDRandomFlip(prob=1.0)(_results(gt_region_map=stripes))
    np.testing.assert_array_equal(out['gt_region_map'], stripes)
    # prob 0: nothing moves
    out = ReIDRandomFlip(prob=0.0)(_results(gt_region_map=region, gt_part_fields=_fields(8),
                                            part_scheme='bpbreid8'))
    np.testing.assert_array_equal(out['gt_region_map'], region)
    np.testing.assert_allclose(out['gt_part_fields'], _fields(8))


def test_flip_fields_errors():
    with pytest.raises(KeyError, match="gt_part_fields but no 'part_scheme'"):
        ReIDRandomFlip(prob=1.0)(_results(gt_part_fields=_fields(8)))
    with pytest.raises(ValueError, match='K = 8 parts'):
        ReIDRandomFlip(prob=1.0)(_results(gt_part_fields=_fields(5), part_scheme='bpbreid8'))


def test_pack_fields_region_map_and_visibility():
    fields = _fields(2)
    res = _results(gt_part_fields=fields, gt_region_map=np.array([[0, 0, 0], [1, 1, 1]]),
                   region_visibility=np.array([1, 0], dtype=np.uint8))
    sample = PackReIDInputs()(res)['data_samples']
    assert isinstance(sample.gt_part_fields, PixelData)
    assert sample.gt_part_fields.data.dtype == torch.float32
    assert sample.gt_part_fields.shape == (2, 3)  # PixelData's (H, W)
    assert torch.allclose(sample.gt_part_fields.data[1, 1],
                          torch.tensor([1.01, 1.11, 1.21]))
    assert sample.gt_region_map.data.tolist() == [[[0, 0, 0], [1, 1, 1]]]
    assert sample.region_visibility.dtype == torch.float32
    assert sample.region_visibility.tolist() == [1.0, 0.0]
    assert 'gt_part_map' not in sample


def test_pack_without_the_optional_fields_and_bad_fields():
    sample = PackReIDInputs()(_results())['data_samples']
    for key in ('gt_part_fields', 'gt_region_map', 'region_visibility', 'gt_part_map'):
        assert key not in sample
    with pytest.raises(ValueError, match=r'must be \[K, H, W\]'):
        PackReIDInputs()(_results(gt_part_fields=np.zeros((2, 3), np.float32)))
