"""Evaluation of re-identification: functional core and registered metrics."""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
