"""Helpers shared by tools/train.py and tools/test.py."""
import os
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config

from mmreidparts.utils.config import read_config


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Read a config file, apply ``--cfg-options`` and register the package's modules.

    Missing ``_base_`` files and options on keys that do not exist stop with the closest
    valid name (:func:`mmreidparts.utils.config.read_config`; ``+key=value`` adds a key).
    """
    cfg = read_config(path, options)
    cfg.setdefault('default_scope', 'mmreidparts')
    # training checkpoints must load with weights_only=True (see PlainCheckpointHook)
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') in ('PlainCheckpointHook', 'mmreidparts.PlainCheckpointHook')
               for h in hooks):
        hooks.append(dict(type='mmreidparts.PlainCheckpointHook'))
    cfg.custom_hooks = hooks
    return cfg


def apply_launcher(cfg: Config, launcher: str) -> None:
    """Prepare distributed training on CPU (gloo) or GPU (nccl) before the Runner starts.

    mmengine's own initialisation calls ``torch.cuda.set_device``, which fails on a CPU
    machine; the process group is therefore started here, and DDP gets
    ``device_ids=None`` for CPU models.
    """
    cfg.launcher = launcher
    if launcher == 'none':
        return
    if launcher != 'pytorch':
        return  # slurm / mpi: mmengine's initialisation
    if torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'nccl'
        return
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg', None) or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def finish_distributed() -> None:
    """Synchronise the ranks and close the process group (a clean exit for every rank)."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()
