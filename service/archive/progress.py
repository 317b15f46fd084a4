"""Progress of a job: a tqdm bar (paragraphs per second, ETA) on a terminal, a plain line every so often otherwise."""

from __future__ import annotations

import logging
import time
from typing import TextIO

from tqdm import tqdm

_LOGGER = logging.getLogger(__name__)


class Progress:
    """Counts rows as partitions finish, out of `total`."""

    def __init__(self, total: int, stream: TextIO, every_seconds: float = 10.0) -> None:
        self.total, self.rows = total, 0
        self._bar = tqdm(total=total, unit=" para", unit_scale=True, file=stream) if stream.isatty() else None
        self._every = every_seconds
        self._started = self._said = time.monotonic()

    def advance(self, rows: int) -> None:
        """`rows` more rows are done (tagged or rejected)."""
        self.rows += rows
        if self._bar is not None:
            self._bar.update(rows)
            return
        now = time.monotonic()
        if now - self._said >= self._every:
            self._said = now
            rate = self.rows / max(now - self._started, 1e-9)
            eta = (self.total - self.rows) / rate if rate else float("inf")
            _LOGGER.info("%d of %d rows, %.0f paragraphs/s, about %.0f s to go", self.rows, self.total, rate, eta)

    def close(self) -> None:
        """End the bar (the summary follows it)."""
        if self._bar is not None:
            self._bar.close()
