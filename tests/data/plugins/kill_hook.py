"""Hooks for the resume tests: the process kills itself (SIGKILL) at a given point."""
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


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """SIGKILL the own process half-way through writing the checkpoint of epoch ``at_epoch``.

    Just before that checkpoint is written, the local storage backend is replaced by one
    that writes the first half of the bytes and then kills the process: what a ``kill -9``
    during a save leaves on disk.
    """

    def __init__(self, at_epoch: int) -> None:
        self.at_epoch = at_epoch

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Arm the kill for the checkpoint of ``at_epoch``."""
        if checkpoint.get('meta', {}).get('epoch') != self.at_epoch:
            return
        from mmengine.fileio.backends import local_backend

        def put_half_then_die(backend, obj: bytes, filepath) -> None:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        local_backend.LocalBackend.put = put_half_then_die
