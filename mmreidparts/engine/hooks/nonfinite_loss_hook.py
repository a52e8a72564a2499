"""Stop (or skip a batch of) a training whose loss becomes NaN or Inf."""
import logging
import math
import os.path as osp
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmreidparts.registry import HOOKS
from mmreidparts.utils.errors import NonFiniteError, NonFiniteLossError

ACTIONS = ('stop', 'skip')


def _as_float(value: object) -> float:
    """A logged value (0-d tensor or number) as a Python float."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    return float(value)  # type: ignore[arg-type]


def nonfinite_terms(outputs: Dict[str, object]) -> List[Tuple[str, float]]:
    """The ``(name, value)`` of the logged loss terms that are NaN or Inf."""
    bad = []
    for name, value in outputs.items():
        try:
            number = _as_float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            bad.append((name, number))
    return bad


def nonfinite_tensors(state: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the floating-point tensors of a state dict that hold NaN or Inf."""
    return [name for name, t in state.items()
            if isinstance(t, torch.Tensor) and t.is_floating_point()
            and not bool(torch.isfinite(t).all())]


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop a training whose loss becomes NaN or Inf, or skip the bad batches.

    ``action='stop'`` (default) reads the total loss that the model logged for the
    iteration (already on the host: mmengine's ``RuntimeInfoHook`` has read it, so no
    extra device sync) and raises :class:`NonFiniteLossError` naming the iteration and the
    loss terms that are not finite. It runs before the checkpoint hook, so no checkpoint
    of the diverged model is written and the work dir keeps its last good one.

    ``action='skip'`` checks the loss before the optimizer sees it (one scalar read per
    iteration, and one all-reduce of a flag when distributed, so that every rank skips
    the same batch): a bad batch changes no weight and no optimizer state, a warning names
    the iteration and the terms, and the training stops after ``max_skips`` bad batches
    in a row.

    With ``check_weights`` every checkpoint is checked before it is written (one pass over
    the weights per save): a model with NaN or Inf weights is never saved.

    In a distributed run each rank checks its own loss in ``'stop'`` mode; the rank that
    raises ends the job (``torchrun`` stops the others).

    Args:
        action: ``'stop'`` or ``'skip'``.
        max_skips: consecutive bad batches tolerated by ``'skip'`` before stopping.
        check_weights: refuse to save a checkpoint whose weights are not finite.
    """

    priority = 'NORMAL'  # after RuntimeInfoHook, before the logger and checkpoint hooks

    def __init__(self, action: str = 'stop', max_skips: int = 10,
                 check_weights: bool = True) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook: action must be one of {ACTIONS}, got '
                             f'{action!r}')
        if max_skips < 1:
            raise ValueError(f'NonFiniteLossHook: max_skips must be >= 1, got {max_skips}')
        self.action = action
        self.max_skips = max_skips
        self.check_weights = check_weights
        self.skipped = 0  # bad batches skipped during this run
        self._consecutive = 0
        self._skip_pending = False

    # ------------------------------------------------------------------ skip mode
    def before_train(self, runner) -> None:
        """In ``'skip'`` mode, guard the parameter update of every optimizer wrapper."""
        if self.action != 'skip':
            return
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
        for w in wrappers:
            if isinstance(w, OptimWrapper) and not getattr(w, '_nonfinite_guard', False):
                w.update_params = self._guard(w, w.update_params)
                w._nonfinite_guard = True

    def _guard(self, wrapper: OptimWrapper, update: Callable) -> Callable:
        """``update_params`` that leaves the model unchanged when the loss is not finite."""

        def update_params(loss: torch.Tensor, *args, **kwargs) -> None:
            bad = (~torch.isfinite(loss.detach())).any().float()
            if get_world_size() > 1:
                all_reduce(bad, op='max')
            if not bool(bad):
                return update(loss, *args, **kwargs)
            self._skip_pending = True
            if get_world_size() > 1:
                # DDP reduces gradients during backward: every rank runs it, then drops them
                loss.backward()
                wrapper.zero_grad()
            return None

        return update_params

    # ------------------------------------------------------------------ both modes
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Raise (``'stop'``) or report (``'skip'``) an iteration whose loss is not finite."""
        skipped = self._skip_pending
        self._skip_pending = False
        if not outputs or 'loss' not in outputs:
            if not skipped:
                self._consecutive = 0
                return
            terms: List[Tuple[str, float]] = []
        else:
            if not skipped and math.isfinite(_as_float(outputs['loss'])):
                self._consecutive = 0
                return
            terms = nonfinite_terms(outputs)
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch '
                 f'{batch_idx + 1})')
        named = ', '.join(f'{k}={v}' for k, v in terms if k != 'loss') or \
            ', '.join(f'{k}={v}' for k, v in terms) or 'the loss passed to the optimizer'
        if self.action == 'skip':
            self.skipped += 1
            self._consecutive += 1
            if self._consecutive <= self.max_skips:
                print_log(f'NonFiniteLossHook: {where}: non-finite loss ({named}); the batch '
                          f'was skipped ({self.skipped} skipped so far)', logger='current',
                          level=logging.WARNING)
                return
        raise NonFiniteLossError(
            f'{where}: the training loss is not finite ({named})' +
            (f' for {self._consecutive} batches in a row' if self.action == 'skip' else '') +
            f'; training stopped. Last good checkpoint: {self._last_checkpoint(runner)}. '
            'Lower the learning rate, check the data of this batch, or set '
            "default_hooks.nonfinite_loss.action='skip' to skip such batches.")

    @staticmethod
    def _last_checkpoint(runner) -> str:
        """The checkpoint that ``last_checkpoint`` of the work dir names (written after a save)."""
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            with open(pointer, encoding='utf-8') as f:
                return f.read().strip() or 'none'
        return 'none (no checkpoint was saved yet)'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write a checkpoint whose weights hold NaN or Inf."""
        if not self.check_weights:
            return
        bad = nonfinite_tensors(checkpoint.get('state_dict') or {})
        if bad:
            raise NonFiniteError(
                f'the model weights hold NaN or Inf in {len(bad)} tensors (e.g. '
                f'{", ".join(bad[:3])}) at iteration {runner.iter}; the checkpoint was not '
                f'saved. Last good checkpoint: {self._last_checkpoint(runner)}')
