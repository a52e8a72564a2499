"""Hooks of mmreidparts."""
from .plain_checkpoint_hook import PlainCheckpointHook
from .stage_switch_hook import StageSwitchHook

__all__ = ['PlainCheckpointHook', 'StageSwitchHook']
