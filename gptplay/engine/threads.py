"""The rate watch: notice when llama.cpp's threads are being held up by a busy core.

llama.cpp's threads meet at a barrier at every step, so one core taken by another
process stalls every step: on the 2-core test machine `complete` fell from ~40 tok/s
to 0.3-0.7 tok/s on 2 threads while 1 thread held ~40 (docs/models.md). The steady
steps of an unloaded run vary little; a stalled run's median step is many times its
fastest. The watch compares the two and, once per engine, says what to do.
"""

from __future__ import annotations

import statistics
import time

MIN_STEPS = 16  # steps before judging
SLOW_FACTOR = 4.0  # median step this many times the fastest: held up


class RateWatch:
    """Per-token step times of one generation, and the one notice they may earn."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.told = False
        self._steps: list[float] = []
        self._last: float | None = None

    def start(self) -> None:
        self._steps = []
        self._last = time.perf_counter()

    def step(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self._steps.append(now - self._last)
        self._last = now

    def notice(self) -> str | None:
        """One line with the fix, the first time a run was held up; otherwise None."""
        if self.told or self.threads <= 1 or len(self._steps) < MIN_STEPS:
            return None
        fastest = min(self._steps)
        median = statistics.median(self._steps)
        if fastest <= 0 or median < SLOW_FACTOR * fastest:
            return None
        self.told = True
        # the rate the summary line reports: tokens after the first over the time they took
        rate = len(self._steps) / sum(self._steps)
        return (
            f"generation ran at {rate:.1f} tok/s, far below the {1 / fastest:.1f} tok/s "
            f"of its fastest steps: another process is probably busy on one of the "
            f"{self.threads} cores llama.cpp's threads wait for at every step. "
            "Try --threads 1 (or threads = 1 in config.toml)."
        )
