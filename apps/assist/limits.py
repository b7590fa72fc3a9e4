"""How much assist work a server takes on: a few proposals at once per process, and so many per user.

Proposals are CPU work in the request's own thread (Django runs a sync view in a worker thread under
Daphne, never on the event loop), so a process runs at most POLYLOG_ASSIST_CONCURRENCY of them at once: a
request waits POLYLOG_ASSIST_WAIT_SECONDS for a turn, then is told 503 `assist_busy` rather than queue
without end. Each user has POLYLOG_ASSIST_RATE proposals ("600/min") in a fixed window, counted in
Django's cache (Redis when configured, so across processes), then 429 `rate_limited`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from apps.common.errors import ApiError

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


class Slots:
    """A bounded number of bodies at once per process, sized by a setting (read on each use, and the
    semaphore made anew when it changed: tests do); past the wait, 503 assist_busy with `busy` in the text."""

    def __init__(self, setting: str, busy: str) -> None:
        self.setting = setting
        self.busy = busy
        self._lock = threading.Lock()
        self._sized: tuple[int, threading.BoundedSemaphore] | None = None

    def _semaphore(self) -> threading.BoundedSemaphore:
        size = max(1, int(getattr(settings, self.setting)))
        with self._lock:
            if self._sized is None or self._sized[0] != size:
                self._sized = (size, threading.BoundedSemaphore(size))
            return self._sized[1]

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the body; 503 assist_busy after waiting POLYLOG_ASSIST_WAIT_SECONDS."""
        semaphore = self._semaphore()
        wait = max(0.0, float(settings.POLYLOG_ASSIST_WAIT_SECONDS))
        if not semaphore.acquire(timeout=wait):
            raise ApiError(503, "assist_busy", f"{self.busy} (waited {wait:g} s for a turn); try again.")
        try:
            yield
        finally:
            semaphore.release()


# Hold one of the process's assist slots for the body (the OpenCV tools' CPU work).
assist_slot = Slots("POLYLOG_ASSIST_CONCURRENCY", "The assistant is busy with other proposals").slot


def parse_rate(rate: str) -> tuple[int, int] | None:
    """'600/min' -> (600, 60); an empty rate means no limit (None)."""
    rate = (rate or "").strip().lower()
    if not rate:
        return None
    found = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([a-z]+)", rate)
    if found is None or found.group(3) not in PERIODS:
        raise ValueError(f"POLYLOG_ASSIST_RATE is 'N/sec', 'N/min' or 'N/hour', not {rate!r}")
    return int(found.group(1)), int(found.group(2) or 1) * PERIODS[found.group(3)]


def rate_check(user_id: int) -> None:
    """Count one proposal for the user; 429 rate_limited past the rate in the current window."""
    parsed = parse_rate(settings.POLYLOG_ASSIST_RATE)
    if parsed is None:
        return
    allowed, seconds = parsed
    now = time.time()
    window = int(now // seconds)
    key = f"polylog:assist:rate:{user_id}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first
        cache.set(key, 1, timeout=seconds + 1)
        used = 1
    if used > allowed:
        wait = max(1, math.ceil((window + 1) * seconds - now))
        raise ApiError(
            429,
            "rate_limited",
            f"At most {allowed} proposals every {seconds} s per person; try again in {wait} s.",
        )
