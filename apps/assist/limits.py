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

_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


def _semaphore() -> threading.BoundedSemaphore:
    """The process's semaphore, sized by the setting (made anew if the setting changed: tests do)."""
    global _slots
    size = max(1, int(settings.POLYLOG_ASSIST_CONCURRENCY))
    with _lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


@contextmanager
def assist_slot() -> Iterator[None]:
    """Hold one of the process's assist slots for the body; 503 assist_busy after waiting too long."""
    semaphore = _semaphore()
    wait = max(0.0, float(settings.POLYLOG_ASSIST_WAIT_SECONDS))
    if not semaphore.acquire(timeout=wait):
        raise ApiError(
            503,
            "assist_busy",
            f"The assistant is busy with other proposals (waited {wait:g} s for a turn); try again.",
        )
    try:
        yield
    finally:
        semaphore.release()


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
