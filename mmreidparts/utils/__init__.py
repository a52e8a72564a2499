"""Utilities: module registration and safe checkpoint loading."""
from .checkpoint import (
                         check_state_dict_compatible,
                         load_reid_checkpoint,
                         load_state_dict_file,
                         register_checkpoint_safe_globals,
                         save_zoo_checkpoint,
                         training_only_prefixes,
)
from .config import strip_pretrained
from .setup_env import register_all_modules

__all__ = ['register_all_modules', 'register_checkpoint_safe_globals', 'load_state_dict_file',
           'load_reid_checkpoint', 'check_state_dict_compatible', 'save_zoo_checkpoint',
           'strip_pretrained', 'training_only_prefixes']
