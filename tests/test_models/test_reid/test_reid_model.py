"""ReIDModel: loss and predict on a 2-image batch, test-time flip, modes."""
import math

import pytest
import torch
from torch import nn

from mmreidparts.models.reid import ReIDModel
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

NUM_CLASSES = 4


def _batch(labels, height=64, width=32):
    torch.manual_seed(0)
    inputs = [torch.randint(0, 256, (3, height, width), dtype=torch.uint8) for _ in labels]
    samples = [ReIDDataSample(metainfo=dict(pid=10 + i, camid=i)).set_gt_label(label)
               for i, label in enumerate(labels)]
    return dict(inputs=inputs, data_samples=samples)


def _bot_model(**kwargs):
    cfg = dict(
        type='ReIDModel',
        backbone=dict(type='ResNetReID', depth=18, last_stride=1),
        head=dict(type='BNNeckHead', in_channels=512, num_classes=NUM_CLASSES))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_loss_and_predict_on_two_images():
    model = _bot_model()
    model.init_weights()
    assert 0 < model.head.classifier.weight.std().item() < 0.002  # N(0, 0.001)
    model.head.classifier.weight.data.zero_()
    model.train()
    data = model.data_preprocessor(_batch([0, 3]), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_triplet', 'acc_top1'}
    # zero logits: uniform prediction, so CE = log(num_classes) whatever the smoothed target
    assert losses['loss_cls'].item() == pytest.approx(math.log(NUM_CLASSES), abs=1e-6)
    # two identities, one image each: no anchor has a positive
    assert losses['loss_triplet'].item() == 0.0
    total, log_vars = model.parse_losses(losses)
    assert total.item() == pytest.approx(losses['loss_cls'].item() + 0.0)
    assert 'acc_top1' in log_vars
    total.backward()
    assert model.head.classifier.weight.grad.abs().sum() > 0

    model.eval()
    model.head.bnneck.reset_running_stats()  # running mean 0, variance 1
    data = model.data_preprocessor(_batch([0, 3]), training=False)
    with torch.no_grad():
        results = model(**data, mode='predict')
        feats = model(**data, mode='tensor')
    assert feats[0].shape == (2, 512, 4, 2)  # output stride 16 at 64x32
    for i, result in enumerate(results):
        assert result.embeddings.shape == (1, 512)
        assert result.visibility.tolist() == [1.0]
        assert result.embedding_names == ('global', )
        assert result.pid == 10 + i
    # eval BN with fresh statistics: after_bn = pooled / sqrt(1 + eps)
    pooled = feats[0].mean(dim=(2, 3))
    assert torch.allclose(results[1].embeddings[0], pooled[1] / math.sqrt(1 + 1e-5), atol=1e-6)


def test_num_classes_error_through_the_model():
    model = _bot_model()
    data = model.data_preprocessor(_batch([0, NUM_CLASSES]), training=True)
    with pytest.raises(ValueError, match='num_classes'):
        model(**data, mode='loss')
    with pytest.raises(ValueError, match='mode'):
        model(**data, mode='features')


class _LeftHalf(nn.Module):
    """A backbone that is not mirror-invariant: it keeps the left half of the image."""

    def forward(self, x):
        return (x[..., :x.shape[-1] // 2], )


class _PredictOnlyHead(nn.Module):
    """Embeds the top and bottom rows as 'left_arm' / 'right_arm', visible if positive."""

    def predict(self, feats, data_samples):
        x = feats[0].mean(dim=(1, 3))  # [N, H]
        for sample, row in zip(data_samples, x):
            emb = torch.stack([row[:1], row[-1:]])  # [2, 1]
            sample.set_prediction(emb, (emb[:, 0] > 0).float(), ('left_arm', 'right_arm'))
        return data_samples


class _TwoSidesHead(_PredictOnlyHead):
    """The same head with the tensor-only test path every head implements."""

    embedding_names = ('left_arm', 'right_arm')

    def predict_tensors(self, feats):
        x = feats[0].mean(dim=(1, 3))  # [N, H]
        emb = torch.stack([x[:, :1], x[:, -1:]], dim=1)  # [N, 2, 1]
        return emb, (emb[..., 0] > 0).float()


def test_flip_averages_embeddings_and_combines_visibility():
    # one image 2 x 2 (one channel repeated): rows (1, 3) and (-2, 0)
    image = torch.tensor([[1., 3.], [-2., 0.]]).expand(1, 3, 2, 2)
    pre = dict(type='ReIDDataPreprocessor', mean=None, std=None, to_rgb=False)
    plain = ReIDModel(backbone=_LeftHalf(), head=_TwoSidesHead(), data_preprocessor=pre)
    [res] = plain.predict(image)
    # left column: top 1, bottom -2 -> visibility (1, 0)
    assert res.embeddings[:, 0].tolist() == [1.0, -2.0]
    assert res.visibility.tolist() == [1.0, 0.0]
    flip = ReIDModel(backbone=_LeftHalf(), head=_TwoSidesHead(), data_preprocessor=pre,
                     test_cfg=dict(flip=True))
    [res] = flip.predict(image)
    # mirrored left column = right column: top 3, bottom 0 -> averages 2 and -1
    assert res.embeddings[:, 0].tolist() == [2.0, -1.0]
    assert res.visibility.tolist() == [1.0, 0.0]  # max of (1, 0) and (1, 0)
    swap = ReIDModel(backbone=_LeftHalf(), head=_TwoSidesHead(), data_preprocessor=pre,
                     test_cfg=dict(flip=True, flip_visibility='mean',
                                   flip_pairs=[('left_arm', 'right_arm')]))
    [res] = swap.predict(image)
    # the mirrored rows are swapped before averaging: (1 + 0) / 2, (-2 + 3) / 2
    assert res.embeddings[:, 0].tolist() == [0.5, 0.5]
    # visibility: mean of (1, 0) and the swapped mirrored (0, 1)
    assert res.visibility.tolist() == [0.5, 0.5]
    with pytest.raises(KeyError, match='test_cfg'):
        ReIDModel(backbone=_LeftHalf(), head=_TwoSidesHead(), test_cfg=dict(flp=True))


def test_scoped_backbone_and_pretrained_backbone_through_the_model(tmp_path):
    model = _bot_model(backbone=dict(type='mmpretrain.ResNet', depth=18))
    assert type(model.backbone).__module__.startswith('mmpretrain.')
    source = MODELS.build(dict(type='ResNetReID', depth=18))
    path = tmp_path / 'resnet18.pth'
    torch.save(source.state_dict(), path)
    model = _bot_model(backbone=dict(
        type='ResNetReID', depth=18, init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    assert torch.equal(model.backbone.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert model.head.classifier.weight.std().item() < 0.002  # the head's own init ran


class _RawHead(nn.Module):
    """Embeds the left column's mean per channel; normalises rows unless told not to."""

    def normalize_embeddings(self, embeddings):
        return torch.nn.functional.normalize(embeddings, dim=-1)

    embedding_names = ('global', )

    def predict_tensors(self, feats, normalize=True):
        x = feats[0].mean(dim=(2, 3))  # [N, C]
        emb = self.normalize_embeddings(x) if normalize else x
        return emb[:, None], emb.new_ones(emb.shape[0], 1)

    def predict(self, feats, data_samples, normalize=True):
        emb, vis = self.predict_tensors(feats, normalize)
        for sample, row, v in zip(data_samples, emb, vis):
            sample.set_prediction(row, v, self.embedding_names)
        return data_samples


def test_flip_merge_sum_normalises_the_sum_of_the_raw_embeddings():
    # 2 channels: left column (3, 0), right column (1, 1) -> raw views (3, 0) and (1, 1)
    image = torch.tensor([[[3., 1.]], [[0., 1.]], [[0., 0.]]])[None]  # [1, 3, 1, 2]
    pre = dict(type='ReIDDataPreprocessor', mean=None, std=None, to_rgb=False)
    backbone = nn.Sequential()  # identity, then keep the left half
    summed = ReIDModel(backbone=nn.Sequential(backbone, _LeftHalf()), head=_RawHead(),
                       data_preprocessor=pre, test_cfg=dict(flip=True, flip_merge='sum'))
    [res] = summed.predict(image)
    # normalise((3, 0, 0) + (1, 1, 0)) = (4, 1, 0) / sqrt(17)
    expected = torch.tensor([4.0, 1.0, 0.0]) / 17**0.5
    assert torch.allclose(res.embeddings[0], expected)
    mean = ReIDModel(backbone=nn.Sequential(backbone, _LeftHalf()), head=_RawHead(),
                     data_preprocessor=pre, test_cfg=dict(flip=True))
    [res] = mean.predict(image)
    # average of the normalised views (1, 0, 0) and (1, 1, 0) / sqrt(2): another direction
    averaged = (torch.tensor([1.0, 0, 0]) + torch.tensor([1.0, 1, 0]) / 2**0.5) / 2
    assert torch.allclose(res.embeddings[0], averaged)
    with pytest.raises(ValueError, match='normalize_embeddings'):
        ReIDModel(backbone=_LeftHalf(), head=_TwoSidesHead(),
                  test_cfg=dict(flip=True, flip_merge='sum'))
    with pytest.raises(ValueError, match='flip_merge'):
        ReIDModel(backbone=_LeftHalf(), head=_RawHead(), test_cfg=dict(flip_merge='max'))


def test_a_test_config_asking_for_soft_visibility_needs_a_head_that_has_it():
    with pytest.raises(ValueError, match="visibility='soft'.*BNNeckHead predicts 'ones'"):
        _bot_model(test_cfg=dict(visibility='soft'))
    with pytest.raises(ValueError, match='test_cfg.visibility must be one of'):
        _bot_model(test_cfg=dict(visibility='hard'))
    vpm = dict(type='VPMHead', in_channels=512, num_classes=NUM_CLASSES, grid=(2, 1))
    model = _bot_model(head=vpm, test_cfg=dict(visibility='soft'))
    assert model.test_cfg['visibility'] == 'soft'
    with pytest.raises(ValueError, match="VPMHead predicts 'ones'"):  # MVPM-1: ones
        _bot_model(head=dict(vpm, test_visibility='uniform'), test_cfg=dict(visibility='soft'))


def test_predict_tensors_is_the_test_graph_with_flip():
    image = torch.tensor([[1., 3.], [-2., 0.]]).expand(1, 3, 2, 2)
    pre = dict(type='ReIDDataPreprocessor', mean=None, std=None, to_rgb=False)
    cfg = dict(flip=True, flip_visibility='mean', flip_pairs=[('left_arm', 'right_arm')])
    model = ReIDModel(backbone=_LeftHalf(), head=_TwoSidesHead(), data_preprocessor=pre,
                      test_cfg=cfg)
    embeddings, visibility = model.predict_tensors(image)
    # as in the flip test above: swapped mirrored rows, averaged
    assert embeddings[0, :, 0].tolist() == [0.5, 0.5]
    assert visibility.tolist() == [[0.5, 0.5]]
    [sample] = model.predict(image)
    assert torch.equal(sample.embeddings, embeddings[0])
    assert torch.equal(sample.visibility, visibility[0])
    assert model.embedding_names == ('left_arm', 'right_arm')
    plain = ReIDModel(backbone=_LeftHalf(), head=_PredictOnlyHead(), data_preprocessor=pre)
    with pytest.raises(TypeError, match='predict_tensors'):
        plain.predict_tensors(image)
