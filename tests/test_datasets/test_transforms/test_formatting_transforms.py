"""Tests of PackReIDInputs."""
import numpy as np
import torch

from mmreidparts.datasets.transforms import PackReIDInputs
from mmreidparts.registry import TRANSFORMS
from mmreidparts.structures import ReIDDataSample


def _results():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)  # [H=2, W=3, C=3]
    return dict(img=img, img_path='/data/q/0002_c1s1_000451_03.jpg', pid=2, camid=0,
                is_query=True, gt_label=-1, img_shape=(2, 3), ori_shape=(4, 6),
                gt_seg_map=np.array([[0, 1, 2], [8, 255, 4]], dtype=np.uint8))


def test_pack_inputs_and_sample():
    out = TRANSFORMS.build(dict(type='PackReIDInputs'))(_results())
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.dtype == torch.uint8
    # inputs[c, y, x] == img[y, x, c]: element (1, 2) of channel 2 is 1*9 + 2*3 + 2 = 17.
    assert inputs[2, 1, 2].item() == 17
    assert inputs[:, 0, 1].tolist() == [3, 4, 5]
    assert isinstance(sample, ReIDDataSample)
    assert sample.gt_label.tolist() == [-1]
    assert sample.gt_part_map.data.tolist() == [[[0, 1, 2], [8, 255, 4]]]
    assert sample.gt_part_map.data.dtype == torch.long
    meta = sample.metainfo
    assert meta['img_path'].endswith('0002_c1s1_000451_03.jpg')
    assert (meta['pid'], meta['camid'], meta['is_query']) == (2, 0, True)
    assert meta['img_shape'] == (2, 3) and meta['ori_shape'] == (4, 6)
    assert meta['flip'] is False  # absent in the results: not flipped


def test_pack_without_labels_and_with_flip_and_region_map():
    res = _results()
    del res['gt_seg_map']
    res.update(gt_label=5, flip=True, gt_region_map=np.array([[1, 1, 1], [2, 2, 2]]))
    sample = PackReIDInputs()(res)['data_samples']
    assert 'gt_part_map' not in sample
    assert sample.gt_label.tolist() == [5]
    assert sample.flip is True
    assert sample.gt_region_map.data.tolist() == [[[1, 1, 1], [2, 2, 2]]]
    sample = PackReIDInputs(meta_keys=('pid', ))(_results())['data_samples']
    assert sample.metainfo == dict(pid=2)
