"""The process's cache of items' latest states (`state_cache`), trusted only at the seq the database says."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings

from ..domain import ItemState


@dataclass(frozen=True, slots=True)
class Cached:
    seq: int
    state: ItemState
    last_hash: str


class StateCache:
    """Process-local cache of each item's latest state, trusted only when its seq matches the database's.

    That check (under the item's row lock) makes it safe with several server processes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[int, Cached] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, item_id: int) -> Cached | None:
        with self._lock:
            return self._data.get(item_id)

    def get(self, item_id: int, seq: int) -> Cached | None:
        with self._lock:
            cached = self._data.get(item_id)
            if cached is None or cached.seq != seq:
                return None
            self._data.move_to_end(item_id)
            return cached

    def put(self, item_id: int, cached: Cached) -> None:
        with self._lock:
            self._data[item_id] = cached
            self._data.move_to_end(item_id)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


state_cache = StateCache(settings.POLYLOG["STATE_CACHE_SIZE"])
