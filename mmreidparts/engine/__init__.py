"""Training-loop extensions (hooks, optimizer wrappers)."""
from .hooks import *  # noqa: F401,F403
from .optim_wrappers import *  # noqa: F401,F403
