"""A toy model trained by a real mmengine Runner, for the tests of the training hooks."""
import itertools
from typing import Iterable, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmreidparts.utils import register_all_modules

ITERS_PER_EPOCH = 4  # 8 samples, batch 2
_NAMES = itertools.count()


class ToyModel(BaseModel):
    """``loss_fit`` = mean output squared; ``loss_bad`` = 0, or NaN at the given iterations."""

    def __init__(self, nan_at: Iterable[int] = ()) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(2, 1)
        self.nan_at = set(nan_at)
        self.calls = 0

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """The losses in ``'loss'`` mode, the outputs otherwise."""
        out = self.linear(inputs)  # [N, 1]
        if mode != 'loss':
            return out
        step = self.calls
        self.calls += 1
        bad = float('nan') if step in self.nan_at else 0.0
        return dict(loss_fit=out.square().mean(), loss_bad=out.mean() * 0 + bad)


class Spy(Hook):
    """Records the weight after every iteration; optionally breaks it at one iteration."""

    priority = 'VERY_HIGH'

    def __init__(self, poison_at: Optional[int] = None) -> None:
        self.weights: List[torch.Tensor] = []
        self.poison_at = poison_at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        """Keep a copy of the weight (and poison it at ``poison_at``)."""
        model = runner.model
        if runner.iter == self.poison_at:
            with torch.no_grad():
                model.linear.weight.fill_(float('nan'))
        self.weights.append(model.linear.weight.detach().clone())


def toy_runner(work_dir: str, model: ToyModel, max_epochs: int = 3,
               checkpoint: Optional[dict] = None, nonfinite: Optional[dict] = None,
               extra_hooks: Iterable[Hook] = ()) -> Runner:
    """A Runner over 8 fixed samples (4 iterations per epoch) with the project's hooks."""
    register_all_modules()
    gen = torch.Generator().manual_seed(0)
    data = [dict(inputs=torch.randn(2, generator=gen)) for _ in range(8)]
    return Runner(
        model=model,
        work_dir=work_dir,
        experiment_name=f'toy_{next(_NAMES)}',
        train_dataloader=dict(dataset=data, batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.01)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='AtomicCheckpointHook', interval=1,
                            **(checkpoint or dict(max_keep_ckpts=2))),
            nonfinite_loss=dict(type='NonFiniteLossHook', **(nonfinite or {}))),
        custom_hooks=[dict(type='PlainCheckpointHook')] + list(extra_hooks),
        default_scope='mmreidparts',
        randomness=dict(seed=0),
    )
