"""The box's per-image preparation made ahead, in the background: the labeling page asks for it when the
box tool is chosen, so the first box on an image does not wait for the image's regions (~300 ms on a
2-megapixel photo, apps/assist/regions.py).

One thread per process does it, one image at a time, inside one of the process's assist slots (so it
never takes more CPU than a proposal would); an image already prepared, or being prepared, is not queued
again. At most PENDING_MAX images are pending (the one being made included): past that, the one asked
for longest ago and not yet started is dropped (its page has most likely moved on), so pages stepping
through many images never build a backlog that holds a slot for minutes on images nobody looks at any
more. What it makes goes to the assist cache as a box would put it there; a failure (an unreadable file,
every slot taken past the wait) or a drop leaves nothing, and the first box prepares the regions itself
as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from concurrent.futures import Future, ThreadPoolExecutor

from apps.common.errors import ApiError
from apps.datasets.models import Image

from . import box
from .images import CACHE, image_key, image_pixels
from .limits import assist_slot

log = logging.getLogger(__name__)

_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assist-prepare")
_PENDING: dict[Hashable, Future[None]] = {}  # in the order asked
_LOCK = threading.Lock()
PENDING_MAX = 8


def regions_key(image: Image) -> Hashable:
    return ("regions", image_key(image))


def prepare_regions(image: Image) -> tuple[str, Future[None] | None]:
    """Start preparing the image's regions unless they are cached or under way: ("ready", None) or
    ("preparing", the work's future)."""
    key = image_key(image)
    if regions_key(image) in CACHE:
        return "ready", None
    with _LOCK:
        pending = _PENDING.get(key)
        if pending is None:
            pending = _EXECUTOR.submit(_prepare, image)
            _PENDING[key] = pending
            pending.add_done_callback(lambda _: _forget(key))
        # The oldest waiting first; one already running cannot be cancelled and is left to finish.
        dropped = [f for f in _PENDING.values() if f is not pending and not f.running()]
        dropped = dropped[: max(0, len(_PENDING) - PENDING_MAX)]
    for future in dropped:  # outside the lock: a cancel runs the future's _forget at once
        future.cancel()
    return "preparing", pending


def _forget(key: Hashable) -> None:
    with _LOCK:
        _PENDING.pop(key, None)


def _prepare(image: Image) -> None:
    try:
        with assist_slot():
            box.cached_regions(image_pixels(image), CACHE, image_key(image))
    except ApiError as exc:  # unreadable, or every slot stayed taken: the first box prepares them itself
        log.info("assist: the regions of image %s were not prepared ahead: %s", image.pk, exc.message)
    except Exception:  # a bug: said in the log, as a request's would be (the future is never read)
        log.exception("assist: preparing the regions of image %s failed", image.pk)
