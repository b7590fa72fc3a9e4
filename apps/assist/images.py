"""Decoded images and what the tools prepare from them, kept per process in an LRU bounded in bytes.

A person using a tool sends many requests on one image (a scissors preview at every pointer move), so the
image is read from storage and decoded once, and the scissors' edge map from an anchor is built once for
all the previews that start there. Entries are keyed by the image's id and checksum (a replaced file is a
new entry) and charged what they hold; past POLYLOG_ASSIST_CACHE_MB the least recently used go. Something
larger than the whole cache is used once and not kept.

The image is decoded as the import measured it (Pillow, apps/datasets/services.py: no EXIF rotation), so
that its pixels and the item's width and height agree.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from apps.common.errors import ApiError
from apps.datasets.models import Image

T = TypeVar("T")


class ByteLRU:
    """A thread-safe LRU of values with a size in bytes, bounded by `limit()` bytes in all."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        limit = self._limit()
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > limit:
                return  # would push out everything else, and itself: used once, not kept
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > limit and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def cached(self, key: Hashable, make: Callable[[], tuple[T, int]]) -> T:
        """The value under `key`, made (value, bytes) and kept when missing. Two threads missing at once
        both make it: the concurrency bound keeps that rare and cheap next to a lock held over the work."""
        found = self.get(key)
        if found is not None:
            return found
        value, size = make()
        self.put(key, value, size)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0


def _cache_limit() -> int:
    return int(float(settings.POLYLOG_ASSIST_CACHE_MB) * 1024 * 1024)


CACHE = ByteLRU(_cache_limit)


def image_key(image: Image) -> tuple[str, int, str]:
    return ("image", image.pk, image.checksum)


def decode(content_or_handle: Any, max_pixels: int | None = None) -> np.ndarray:
    """An image file (bytes or a binary file object) as an HxWx3 uint8 array in OpenCV's BGR order."""
    handle = io.BytesIO(content_or_handle) if isinstance(content_or_handle, bytes) else content_or_handle
    previous = PILImage.MAX_IMAGE_PIXELS
    if max_pixels is not None:
        PILImage.MAX_IMAGE_PIXELS = max_pixels
    try:
        with PILImage.open(handle) as picture:
            rgb = np.asarray(picture.convert("RGB"))
    finally:
        PILImage.MAX_IMAGE_PIXELS = previous
    return np.ascontiguousarray(rgb[:, :, ::-1])


def image_pixels(image: Image) -> np.ndarray:
    """The item's image decoded (BGR), from the cache or read through the project's storage (read-only:
    callers never write into it, the cache hands the same array to every request)."""

    def load() -> tuple[np.ndarray, int]:
        try:
            with default_storage.open(image.file.name, "rb") as handle:
                pixels = decode(handle, settings.POLYLOG["MAX_IMAGE_PIXELS"])
        except (OSError, ValueError, PILImage.DecompressionBombError) as exc:
            raise ApiError(
                422, "no_proposal", f"The image could not be read for the assistant ({type(exc).__name__})."
            ) from None
        if pixels.shape[:2] != (image.height, image.width):
            raise ApiError(
                422,
                "no_proposal",
                f"The image file is {pixels.shape[1]}x{pixels.shape[0]}, not the {image.width}x{image.height}"
                " it was imported as.",
            )
        pixels.setflags(write=False)
        return pixels, pixels.nbytes

    return CACHE.cached(image_key(image), load)
