"""Hooks of mmreidparts."""
from .loss_phase_lr_hook import LossPhaseLRHook
from .plain_checkpoint_hook import PlainCheckpointHook
from .stage_switch_hook import StageSwitchHook

__all__ = ['LossPhaseLRHook', 'PlainCheckpointHook', 'StageSwitchHook']
