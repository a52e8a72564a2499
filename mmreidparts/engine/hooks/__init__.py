"""Hooks of mmreidparts."""
from .plain_checkpoint_hook import PlainCheckpointHook

__all__ = ['PlainCheckpointHook']
