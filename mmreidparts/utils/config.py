"""Config helpers."""
from typing import Any


def strip_pretrained(cfg: Any) -> Any:
    """A copy of a nested (model) config with every ``init_cfg`` and ``pretrained`` set to None.

    Used when the weights come from a checkpoint, or must not be downloaded (tests,
    benchmarks): building the model then reads no pretrained file.
    """
    if isinstance(cfg, dict):
        return {k: (None if k in ('init_cfg', 'pretrained') else strip_pretrained(v))
                for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(strip_pretrained(v) for v in cfg)
    return cfg
