"""Hooks of mmreidparts."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .loss_phase_lr_hook import LossPhaseLRHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .stage_switch_hook import StageSwitchHook

__all__ = ['AtomicCheckpointHook', 'LossPhaseLRHook', 'NonFiniteLossHook', 'PlainCheckpointHook',
           'StageSwitchHook']
