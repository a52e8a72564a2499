"""ReID data preprocessor: channel order, normalisation, stacking, samples pass through."""
import pytest
import torch

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample


def _image(bgr, height=4, width=2):
    return torch.tensor(bgr, dtype=torch.uint8).view(3, 1, 1).expand(3, height, width).clone()


def test_bgr_to_rgb_and_normalise():
    pre = MODELS.build(dict(type='ReIDDataPreprocessor', mean=(1, 2, 3), std=(2, 2, 2)))
    samples = [ReIDDataSample(metainfo=dict(pid=1)), ReIDDataSample(metainfo=dict(pid=2))]
    out = pre(dict(inputs=[_image([10, 20, 30]), _image([0, 0, 0])], data_samples=samples))
    assert out['inputs'].shape == (2, 3, 4, 2)
    # RGB = (30, 20, 10), minus the mean (1, 2, 3), over 2
    assert out['inputs'][0, :, 0, 0].tolist() == [14.5, 9.0, 3.5]
    assert out['inputs'][1, :, 0, 0].tolist() == [-0.5, -1.0, -1.5]
    # the samples come back (moved to the model's device) with their contents
    assert [type(s) for s in out['data_samples']] == [ReIDDataSample, ReIDDataSample]
    assert [s.pid for s in out['data_samples']] == [1, 2]


def test_default_is_imagenet_rgb_and_sizes_must_agree():
    pre = MODELS.build(dict(type='ReIDDataPreprocessor'))
    out = pre(dict(inputs=torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)))
    expected = [(255 - 123.675) / 58.395, (255 - 116.28) / 57.12, (255 - 103.53) / 57.375]
    assert out['inputs'][0, :, 0, 0].tolist() == pytest.approx(expected, rel=1e-6)
    assert out['data_samples'] is None
    with pytest.raises(ValueError, match='Resize'):
        pre(dict(inputs=[_image([0, 0, 0]), _image([0, 0, 0], height=6)]))
