"""Training checkpoints that load with ``torch.load(weights_only=True)``."""
from collections import OrderedDict
from typing import Any

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmreidparts.registry import HOOKS

_TAG = '__history_buffer__'


def _plain(value: Any) -> Any:
    """Numpy scalars and arrays as Python numbers and lists; other values unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Store the message hub of training checkpoints as plain data, and restore it on load.

    mmengine pickles its ``HistoryBuffer`` objects (and, through them, bound methods
    reached with ``getattr``) into every checkpoint; allowing those globals would defeat
    ``weights_only=True`` loading. This hook writes each buffer as a dict of lists
    before the checkpoint is saved and rebuilds the buffers after it is loaded, so
    ``--resume`` works with safe loading. The tools add it to every config.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Replace HistoryBuffers and numpy values of the message hub by plain data."""
        hub = checkpoint.get('message_hub')
        if not isinstance(hub, dict):
            return
        scalars = OrderedDict()
        for key, buf in hub.get('log_scalars', {}).items():
            if isinstance(buf, HistoryBuffer):
                log, count = buf.data
                scalars[key] = {_TAG: True, 'log': np.asarray(log).tolist(),
                                'count': np.asarray(count).tolist(),
                                'max_length': int(buf.max_length)}
            else:
                scalars[key] = buf
        hub['log_scalars'] = scalars
        hub['runtime_info'] = OrderedDict(
            (k, _plain(v)) for k, v in hub.get('runtime_info', {}).items())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuild the HistoryBuffers written by :meth:`before_save_checkpoint`."""
        hub = checkpoint.get('message_hub')
        if not isinstance(hub, dict):
            return
        for key, buf in list(hub.get('log_scalars', {}).items()):
            if isinstance(buf, dict) and buf.get(_TAG):
                hub['log_scalars'][key] = HistoryBuffer(buf['log'], buf['count'],
                                                        buf['max_length'])
