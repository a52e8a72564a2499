"""Learning rate of the alternating loss phases of a model (``ReIDModel(loss_phases=...)``)."""
from typing import Dict, List, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

from mmreidparts.registry import HOOKS


def _optimizers(optim_wrapper) -> List:
    """The torch optimizers of an ``OptimWrapper`` or an ``OptimWrapperDict``."""
    wrappers = getattr(optim_wrapper, 'optim_wrappers', None)
    if isinstance(wrappers, dict):
        return [w.optimizer for w in wrappers.values()]
    return [optim_wrapper.optimizer]


@HOOKS.register_module()
class LossPhaseLRHook(Hook):
    """Scale the learning rates of each training step by the ``lr_mult`` of its loss phase.

    The model (``ReIDModel`` with ``loss_phases``) decides which losses a step optimises
    from the iteration; this hook multiplies the learning rate of every parameter group
    by ``model.phase_lr_mult(iter)`` before the step and puts the scheduled value back
    afterwards, before the parameter schedulers (priority ``NORMAL`` runs before their
    ``LOW``) see it. The logged learning rate is the scheduled one. Phases change every
    iteration, so gradient accumulation (``accumulative_counts > 1``) is refused. On a
    model without phases the hook does nothing.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._saved: Optional[List[Dict[int, float]]] = None
        self._active = True

    @staticmethod
    def _model(runner) -> nn.Module:
        """The runner's model without its distributed wrapper."""
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        """Check the model has loss phases and the optimizer steps every iteration."""
        model = self._model(runner)
        self._active = bool(getattr(model, 'loss_phases', None))
        if not self._active:  # e.g. MGN's 'joint' fallback, model.loss_phases=None
            print_log('LossPhaseLRHook: the model has no loss_phases; every step uses the '
                      'scheduled learning rate', logger='current')
            return
        wrappers = getattr(runner.optim_wrapper, 'optim_wrappers', None)
        for wrapper in (wrappers.values() if isinstance(wrappers, dict)
                        else [runner.optim_wrapper]):
            if getattr(wrapper, '_accumulative_counts', 1) != 1:
                raise ValueError('LossPhaseLRHook: the loss phases change every iteration, '
                                 'so optim_wrapper.accumulative_counts must be 1')
        model._phase_lr_hooked = True

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Multiply every group's learning rate by the phase's ``lr_mult``."""
        self._saved = None
        if not self._active:
            return
        mult = self._model(runner).phase_lr_mult(runner.iter)
        if mult == 1.0:
            return
        self._saved = []
        for optimizer in _optimizers(runner.optim_wrapper):
            saved = {}
            for i, group in enumerate(optimizer.param_groups):
                saved[i] = group['lr']
                group['lr'] = group['lr'] * mult
            self._saved.append(saved)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Put the scheduled learning rates back."""
        if self._saved is None:
            return
        for optimizer, saved in zip(_optimizers(runner.optim_wrapper), self._saved):
            for i, lr in saved.items():
                optimizer.param_groups[i]['lr'] = lr
        self._saved = None
