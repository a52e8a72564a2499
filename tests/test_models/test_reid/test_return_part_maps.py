"""ReIDModel test_cfg.return_part_maps: part maps in the data samples, from any part head."""
import pytest
import torch
from torch import nn

from mmreidparts.models.reid import ReIDModel
from mmreidparts.registry import MODELS

PRE = dict(type='ReIDDataPreprocessor', mean=None, std=None, to_rgb=False)


class _Identity(nn.Module):
    def forward(self, x):
        return (x, )


class _PartMapHead(nn.Module):
    """A minimal part head: only the part maps contract and a one-embedding prediction.

    Channels 0..2 of the image are the logits of background and parts 1, 2.
    """

    embedding_names = ('global', )

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, feats):
        self.calls += 1
        return dict(part_maps=feats[0].softmax(dim=1))

    def predict_tensors(self, feats):
        emb = feats[0].mean(dim=(2, 3))[:, None]  # [N, 1, 3]
        return emb, emb.new_ones(emb.shape[:2])

    def predict(self, feats, data_samples):
        emb, vis = self.predict_tensors(feats)
        for sample, e, v in zip(data_samples, emb, vis):
            sample.set_prediction(e, v, self.embedding_names)
        return data_samples


def _images():
    torch.manual_seed(0)
    return torch.randn(2, 3, 4, 2)


@pytest.mark.parametrize('flip', [False, True])
def test_part_maps_are_the_heads_forward_part_maps(flip):
    images = _images()
    model = ReIDModel(backbone=_Identity(), head=_PartMapHead(), data_preprocessor=PRE,
                      test_cfg=dict(return_part_maps=True, flip=flip))
    samples = model.predict(images)
    for sample, image in zip(samples, images):
        assert torch.allclose(sample.pred_part_map.data, image.softmax(dim=0))
        assert sample.embeddings.shape == (1, 3)
    plain = ReIDModel(backbone=_Identity(), head=_PartMapHead(), data_preprocessor=PRE,
                      test_cfg=dict(flip=flip))
    assert 'pred_part_map' not in plain.predict(images)[0]
    for a, b in zip(samples, plain.predict(images)):  # the embeddings are unchanged
        assert torch.equal(a.embeddings, b.embeddings)


def test_part_maps_of_an_aux_head_and_bad_sources():
    images = _images()
    model = ReIDModel(backbone=_Identity(), head=_PartMapHead(), data_preprocessor=PRE,
                      aux_heads=dict(seg=dict(type='PartSegHead', in_channels=3, num_classes=3,
                                              head_type='a')),
                      test_cfg=dict(return_part_maps='seg'))
    assert model.part_maps_head() is model.aux_heads['seg']
    samples = model.predict(images)
    expected = model.aux_heads['seg'](model.extract_feat(images))['part_maps']
    assert torch.allclose(torch.stack([s.pred_part_map.data for s in samples]), expected)
    with pytest.raises(KeyError, match="return_part_maps='sg' names no aux head"):
        ReIDModel(backbone=_Identity(), head=_PartMapHead(), data_preprocessor=PRE,
                  aux_heads=dict(seg=dict(type='PartSegHead', in_channels=3, num_classes=3)),
                  test_cfg=dict(return_part_maps='sg'))
    with pytest.raises(ValueError, match='return_part_maps must be a bool'):
        ReIDModel(backbone=_Identity(), head=_PartMapHead(), test_cfg=dict(return_part_maps=1))


def test_a_head_without_part_maps_says_so():
    class _NoMaps(_PartMapHead):
        def forward(self, feats):
            return feats[0]

    model = ReIDModel(backbone=_Identity(), head=_NoMaps(), data_preprocessor=PRE,
                      test_cfg=dict(return_part_maps=True))
    with pytest.raises(TypeError, match="returns no 'part_maps'"):
        model.predict(_images())


def test_bpbreid_and_vpm_heads_through_the_switch():
    images = torch.rand(2, 3, 32, 16)
    bp = MODELS.build(dict(
        type='ReIDModel', data_preprocessor=PRE,
        backbone=dict(type='MobileNetV2ReID', widen_factor=0.25, out_indices=(7, )),
        head=dict(type='BPBreIDHead', in_channels=1280, num_classes=4, num_parts=5,
                  part_scheme='bpbreid5', dim_reduce=16),
        test_cfg=dict(return_part_maps=True, flip=True))).eval()
    with torch.no_grad():
        samples = bp.predict(images)
        maps = bp.head(bp.extract_feat(images))['part_maps']
        embeddings, _ = bp.predict_tensors(images)
    assert torch.allclose(torch.stack([s.pred_part_map.data for s in samples]), maps)
    assert torch.allclose(torch.stack([s.embeddings for s in samples]), embeddings, atol=1e-6)
    # a head that stores its own maps (VPM) is switched on by the same key
    vpm = MODELS.build(dict(
        type='ReIDModel', data_preprocessor=PRE,
        backbone=dict(type='MobileNetV2ReID', widen_factor=0.25, out_indices=(7, )),
        head=dict(type='VPMHead', in_channels=1280, num_classes=4, grid=(2, 1)),
        test_cfg=dict(return_part_maps=True))).eval()
    assert vpm.head.return_part_maps
    with torch.no_grad():
        assert vpm.predict(images)[0].pred_part_map.data.dim() == 3
