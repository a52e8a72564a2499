"""SGD with Caffe's momentum update, for recipes written for Caffe solvers."""
from typing import Callable, Iterable, Optional

import torch
from torch.optim import Optimizer

from mmreidparts.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class CaffeSGD(Optimizer):
    """Stochastic gradient descent as Caffe's ``SGDSolver`` updates.

    ``v = momentum * v + lr * (g + weight_decay * w)``, then ``w = w - v``: the learning
    rate scales the step before it enters the momentum buffer. PyTorch's ``SGD`` keeps
    ``v = momentum * v + g`` and steps ``w -= lr * v``, which is the same while the
    learning rate is constant but, right after a step decay, carries the old velocity at
    the new rate. Per-parameter learning rates and weight decays come from the parameter
    groups (mmengine's ``paramwise_cfg``, e.g. ``bias_lr_mult=2, bias_decay_mult=0``).

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        momentum: momentum factor.
        weight_decay: L2 weight decay factor.
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f'CaffeSGD needs lr, momentum and weight_decay >= 0, got {lr}, '
                             f'{momentum}, {weight_decay}')
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """One update of every parameter with a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum, decay = group['lr'], group['momentum'], group['weight_decay']
            for param in group['params']:
                if param.grad is None:
                    continue
                step = param.grad.mul(lr)
                if decay:
                    step.add_(param, alpha=decay * lr)
                if momentum:
                    state = self.state[param]
                    buf = state.get('momentum_buffer')
                    if buf is None:
                        state['momentum_buffer'] = buf = step.clone()
                    else:
                        buf.mul_(momentum).add_(step)
                    step = buf
                param.sub_(step)
        return loss
