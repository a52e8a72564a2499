"""A hook for the resume test: the process kills itself (SIGKILL) at a given iteration."""
import os
import signal

from mmengine.hooks import Hook

from mmreidparts.registry import HOOKS


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """Send SIGKILL to the own process before training iteration ``at_iter`` (0-based)."""

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Die abruptly, as a killed job would: no checkpoint, no clean-up."""
        if runner.iter == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)
