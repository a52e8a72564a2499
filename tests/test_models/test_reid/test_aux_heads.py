"""ReIDModel aux_heads: training-only heads, their losses, checkpoints without them."""
import pytest
import torch
from torch import nn

from mmreidparts.models.reid import ReIDModel
from mmreidparts.structures import ReIDDataSample
from mmreidparts.utils import (
    check_state_dict_compatible,
    load_reid_checkpoint,
    save_zoo_checkpoint,
)

PRE = dict(type='ReIDDataPreprocessor', mean=None, std=None, to_rgb=False)


class _MeanBackbone(nn.Module):
    """A 1x1 conv: 3 -> 2 channels."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1, bias=False)
        nn.init.ones_(self.conv.weight)

    def forward(self, x):
        return (self.conv(x), )


class _SumHead(nn.Module):
    """loss_main = sum of the map; predicts the mean per channel."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def loss(self, feats, data_samples):
        return dict(loss_main=feats[0].sum() * self.scale)

    def predict(self, feats, data_samples):
        for sample, row in zip(data_samples, feats[0].mean(dim=(2, 3))):
            sample.set_prediction(row[None] * self.scale, torch.ones(1), ('global', ))
        return data_samples


class _CountingAux(nn.Module):
    """An aux head whose loss is weight * mean of the map; counts its calls."""

    def __init__(self, key='loss_aux'):
        super().__init__()
        self.weight = nn.Parameter(torch.full((1, ), 2.0))
        self.key = key
        self.calls = 0

    def forward(self, feats):
        self.calls += 1
        return feats[0].mean() * self.weight

    def loss(self, feats, data_samples):
        return {self.key: self(feats)}


def _model(aux=True, **kwargs):
    aux_heads = dict(toy=_CountingAux()) if aux else None
    return ReIDModel(backbone=_MeanBackbone(), head=_SumHead(), data_preprocessor=PRE,
                     aux_heads=aux_heads, **kwargs)


def test_aux_losses_are_added_and_never_run_at_test_time():
    model = _model()
    image = torch.ones(2, 3, 2, 2)  # conv of ones: every map value is 3
    samples = [ReIDDataSample() for _ in range(2)]
    losses = model.loss(image, samples)
    assert set(losses) == {'loss_main', 'loss_aux'}
    assert losses['loss_main'].item() == 3 * 2 * 2 * 2 * 2  # 2 images x 2 ch x 2 x 2
    assert losses['loss_aux'].item() == 2 * 3.0
    total, _ = model.parse_losses(losses)
    assert total.item() == 48 + 6
    model.eval()
    calls = model.aux_heads.toy.calls
    with torch.no_grad():
        results = model.predict(image)
    assert model.aux_heads.toy.calls == calls  # predict never runs an aux head
    assert results[0].embeddings.tolist() == [[3.0, 3.0]]


def test_aux_loss_names_must_not_clash_and_heads_need_a_loss():
    model = ReIDModel(backbone=_MeanBackbone(), head=_SumHead(), data_preprocessor=PRE,
                      aux_heads=dict(toy=_CountingAux('loss_main')))
    with pytest.raises(KeyError, match='loss_main'):
        model.loss(torch.ones(1, 3, 2, 2), [ReIDDataSample()])
    with pytest.raises(TypeError, match='no loss'):
        ReIDModel(backbone=_MeanBackbone(), head=_SumHead(), aux_heads=dict(bad=nn.Identity()))
    with pytest.raises(TypeError, match='aux_heads must be a dict'):
        ReIDModel(backbone=_MeanBackbone(), head=_SumHead(), aux_heads=[_CountingAux()])


def test_inference_state_dict_and_zoo_checkpoint_drop_the_aux_heads(tmp_path):
    model = _model()
    assert 'aux_heads.toy.weight' in model.state_dict()
    exported = model.inference_state_dict()
    assert set(exported) == set(model.state_dict()) - {'aux_heads.toy.weight'}
    path = str(tmp_path / 'zoo.pth')
    save_zoo_checkpoint(model, path, meta=dict(name='toy'))
    saved = torch.load(path, weights_only=True)['state_dict']
    assert not any(k.startswith('aux_heads.') for k in saved)
    # the aux weights may be missing (model with the head) ...
    check_state_dict_compatible(model, saved, path)
    plain = _model(aux=False)
    plain.load_state_dict(saved, strict=True)  # ... and the model without it loads strictly
    assert model.training_only_prefixes == ('aux_heads.', )
    assert plain.training_only_prefixes == ()
    # a training checkpoint loads into the model with the aux head; the model without it
    # names the extra tensors (publish the checkpoint, or test it with the aux config)
    full = str(tmp_path / 'train.pth')
    torch.save(dict(state_dict=model.state_dict()), full)
    load_reid_checkpoint(_model(), full)
    with pytest.raises(RuntimeError, match='unexpected tensors, e.g. aux_heads.toy.weight'):
        load_reid_checkpoint(plain, full)
    # any other mismatch is still refused
    broken = dict(saved)
    broken.pop('head.scale')
    with pytest.raises(RuntimeError, match='head.scale'):
        check_state_dict_compatible(model, broken, 'broken.pth')
