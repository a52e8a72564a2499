"""Hooks of mmreidparts."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .stage_switch_hook import StageSwitchHook

__all__ = ['PlainCheckpointHook', 'StageSwitchHook', 'AtomicCheckpointHook', 'NonFiniteLossHook']
