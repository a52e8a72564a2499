"""ReIDModel loss_phases: alternating optimisation of named losses."""
import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from mmreidparts.models.reid import ReIDModel
from mmreidparts.models.reid.reid_model import check_loss_phases
from mmreidparts.structures import ReIDDataSample

PHASES = [dict(losses=['loss_ce*', 'loss_ps'], lr_mult=1.0),
          dict(losses=['loss_tri', 'loss_ps'], lr_mult=0.1)]


class _TwoLossHead(nn.Module):
    """loss_ce uses `a`, loss_tri uses `b`; both read the map."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(2.0))
        self.b = nn.Parameter(torch.tensor(3.0))

    def loss(self, feats, data_samples):
        x = feats[0].mean()
        return dict(loss_ce=self.a * x, loss_tri=self.b * x, acc_top1=torch.tensor(50.0))


class _PSAux(nn.Module):

    def __init__(self):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(5.0))

    def loss(self, feats, data_samples):
        return dict(loss_ps=self.c * feats[0].mean())


class _Backbone(nn.Module):

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return (x * self.w, )


def _model(phases=PHASES):
    return ReIDModel(backbone=_Backbone(), head=_TwoLossHead(), aux_heads=dict(ps=_PSAux()),
                     loss_phases=phases,
                     data_preprocessor=dict(type='ReIDDataPreprocessor', mean=None, std=None,
                                            to_rgb=False))


@pytest.fixture()
def hub():
    hub = MessageHub.get_instance('test_loss_phases')
    yield hub
    hub.update_info('iter', None)


def test_each_iteration_optimises_the_losses_of_its_phase(hub):
    model = _model()
    image = torch.ones(1, 3, 2, 2)  # map mean 1
    samples = [ReIDDataSample()]
    for it, expected, grads in ((0, 2 + 5, ('a', 'c')), (1, 3 + 5, ('b', 'c')),
                                (2, 2 + 5, ('a', 'c'))):
        hub.update_info('iter', it)
        model.zero_grad(set_to_none=True)
        total, log_vars = model.parse_losses(model.loss(image, samples))
        assert total.item() == expected
        assert log_vars['loss'].item() == expected
        assert log_vars['phase'].item() == it % 2
        # every loss is still logged
        assert log_vars['loss_ce'].item() == 2 and log_vars['loss_tri'].item() == 3
        total.backward()
        head, aux = model.head, model.aux_heads.ps
        got = {name for name, p in (('a', head.a), ('b', head.b), ('c', aux.c))
               if p.grad is not None}
        assert got == set(grads)
        assert model.backbone.w.grad.item() == pytest.approx(expected)  # d(total)/dw
    assert model.phase_lr_mult(0) == 1.0 and model.phase_lr_mult(7) == 0.1


def test_without_phases_or_in_eval_mode_every_loss_counts(hub):
    hub.update_info('iter', 1)
    image, samples = torch.ones(1, 3, 2, 2), [ReIDDataSample()]
    joint = _model(phases=None)  # the 'joint' fallback
    total, _ = joint.parse_losses(joint.loss(image, samples))
    assert total.item() == 2 + 3 + 5
    assert joint.phase_lr_mult(1) == 1.0
    model = _model().eval()
    total, _ = model.parse_losses(model.loss(image, samples))
    assert total.item() == 2 + 3 + 5


def test_phase_counter_without_a_runner(hub):
    hub.update_info('iter', None)
    model = _model()
    assert [model.phase_index() for _ in range(3)] == [0, 1, 0]


def test_bad_phases_are_refused(hub):
    with pytest.raises(ValueError, match='non-empty list'):
        check_loss_phases([])
    with pytest.raises(ValueError, match=r'loss_phases\[0\]'):
        check_loss_phases([dict(loss='loss_ce')])
    with pytest.raises(ValueError, match='lr_mult must be > 0'):
        check_loss_phases([dict(losses=['loss_ce'], lr_mult=0)])
    assert check_loss_phases([dict(losses='loss_ce')]) == (dict(losses=('loss_ce', ),
                                                                lr_mult=1.0), )
    model = _model(phases=[dict(losses=['loss_id'])])
    hub.update_info('iter', 0)
    with pytest.raises(KeyError, match='selects none'):
        model.parse_losses(model.loss(torch.ones(1, 3, 2, 2), [ReIDDataSample()]))
