"""The error types of mmreidparts, all in one place.

Each one subclasses :class:`ReIDPartsError` and the builtin error that callers already
catch for that kind of fault (``except ValueError`` keeps working on a corrupt file), so
code can tell the project's diagnosed faults from other failures. Every type takes a
single message argument, so it survives being re-raised by mmengine's registry and by
the data loader's worker processes.
"""
__all__ = [
    'ReIDPartsError', 'CorruptFileError', 'LabelError', 'CheckpointError', 'NonFiniteError',
    'NonFiniteLossError', 'UnknownArgumentError', 'ConfigKeyError', 'ConfigFileError'
]


class ReIDPartsError(Exception):
    """Base of the errors raised by mmreidparts for bad input and numerical faults."""


class CorruptFileError(ReIDPartsError, ValueError):
    """A file exists but cannot be decoded: empty, truncated or not in the expected format."""


class LabelError(ReIDPartsError, ValueError):
    """A label file decodes, but its content does not fit: ids, shape, size or values."""


class CheckpointError(CorruptFileError, RuntimeError):
    """A checkpoint cannot be read safely (corrupt, truncated or holding unsafe objects)."""


class NonFiniteError(ReIDPartsError, ValueError):
    """NaN or Inf values where finite numbers are required (embeddings, weights)."""


class NonFiniteLossError(ReIDPartsError, FloatingPointError):
    """A training loss became NaN or Inf."""


class UnknownArgumentError(ReIDPartsError, TypeError):
    """A component was given a keyword argument it does not accept."""


class ConfigKeyError(ReIDPartsError, KeyError):
    """A config key (e.g. of ``--cfg-options``) that does not exist in the config."""

    def __str__(self) -> str:
        """The message as written (``KeyError`` would quote it)."""
        return str(self.args[0]) if self.args else ''


class ConfigFileError(ReIDPartsError, FileNotFoundError):
    """A config file, or a ``_base_`` file it inherits from, does not exist."""
