"""mmengine's CheckpointHook with saves that survive a killed process."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from mmreidparts.registry import HOOKS
from mmreidparts.utils.fileio import TMP_SUFFIX, commit_file, write_bytes_atomic

LAST_CHECKPOINT = 'last_checkpoint'


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` whose saves are atomic and keep the old file.

    Same arguments and behaviour as mmengine's hook, except, for checkpoints on a local
    disk:

    - ``epoch_N.pth`` is written as ``epoch_N.pth.tmp``, flushed to disk and renamed, so a
      killed process leaves either no ``epoch_N.pth`` or a complete one;
    - ``last_checkpoint`` is rewritten atomically, after the checkpoint is complete;
    - with ``max_keep_ckpts``, the oldest checkpoint is removed only after the new one is
      complete (mmengine removes it before saving, so a crash during the save of
      ``max_keep_ckpts=1`` would leave no checkpoint at all).

    Other storage backends are written as mmengine does.
    """

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        """Save the checkpoint of ``step``, then point to it, then drop the outdated one."""
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        local = isinstance(self.file_backend, LocalBackend)
        runner.save_checkpoint(
            self.out_dir,
            filename + TMP_SUFFIX if local else filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        if local:
            commit_file(self.last_ckpt + TMP_SUFFIX, self.last_ckpt)
        write_bytes_atomic(osp.join(runner.work_dir, LAST_CHECKPOINT),
                           str(self.last_ckpt).encode('utf-8'))
        if outdated is not None:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)
