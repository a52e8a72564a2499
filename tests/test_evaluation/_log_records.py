"""A logging handler that keeps the messages of the current MMLogger, for the metric tests."""
import logging
from typing import List


class LogRecords(logging.Handler):
    """Keeps the messages of the records it handles (``level`` and above)."""

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level=level)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the formatted message."""
        self.messages.append(record.getMessage())
