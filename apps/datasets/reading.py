"""Reading an import's files: opening one safely under the import root, and reading a run of JPEGs in
processes of their own.

Kept free of Django (standard library and apps/datasets/jpeg.py only): the reading processes are forked
from a small server process (multiprocessing's forkserver) that imports this module and nothing of the
app, so each costs a few MB and starts in a few milliseconds.

Why processes: an import's files were read by threads of the importing process, and each file's opening,
checks, reading and hashing hand the interpreter lock over five or six times. With a second reading thread
and the batches' registration in that process, every hand-over waited for another thread, and two threads
read 1,000 photos no faster than one (2 x 500 files in 50 ms each, one thread alone 1,000 in 53 ms). A
process has an interpreter of its own: two read those files in about half the time of one, beside the
registration (docs/performance.md, issue 21 point 2).
"""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import stat
import threading
from concurrent.futures import ProcessPoolExecutor

from .jpeg import jpeg_size


class OutsideRoot(Exception):
    """A file or folder that leads out of the import root, or into the app's own files."""

    def __str__(self) -> str:
        return f"{self.args[0]!r} leads outside the import folder"


class NotAFile(Exception):
    """A listed name that is no regular file (a FIFO, a device): opening it could block or never end."""

    def __str__(self) -> str:
        return f"{self.args[0]!r} is not a regular file"


class FileTooLarge(Exception):
    """A file over POLYLOG["MAX_IMPORT_FILE_BYTES"], found so before its content is read."""


def allowed(real: str, root: str, kept: tuple[str, ...]) -> bool:
    """Whether the resolved path `real` is under the import root `root` and out of the app's own folders."""

    def under(folder: str) -> bool:
        return real == folder or real.startswith(folder + os.sep)

    return under(root) and not any(under(folder) for folder in kept)


def read_opened(root: str, kept: tuple[str, ...], relative: str, limit: int) -> bytes | None:
    """The bytes of the file at `relative` below `root` (Linux: /proc/self/fd), opened by its path without
    following a last symlink and checked where the kernel says the open descriptor is (under the root, out
    of the app's own files): four system calls beside the reading, about what a plain open() and read()
    make. A folder on the way swapped for a symlink meanwhile shows in that check, a last name swapped for a
    symlink makes the opening fail (None: the caller takes the long way), anything but a regular file is
    refused once open (O_NONBLOCK: a FIFO swapped in does not block)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        opened = os.open(os.path.join(root, relative), flags)
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symlink now
            return None
        raise
    try:
        if not allowed(os.readlink(f"/proc/self/fd/{opened}"), root, kept):
            raise OutsideRoot(relative)
        found = os.fstat(opened)
        if not stat.S_ISREG(found.st_mode):
            raise NotAFile(relative)
        if found.st_size > limit:
            raise FileTooLarge(relative)
        # Asked for one byte more than its size: fewer back is the end of the file (a regular file is read
        # whole unless at its end), one more is a file grown since, read on to the limit.
        content = os.read(opened, found.st_size + 1)
        if len(content) > found.st_size:
            parts = [content]
            while (chunk := os.read(opened, 1 << 20)) and sum(map(len, parts)) <= limit:
                parts.append(chunk)
            content = b"".join(parts)
    finally:
        os.close(opened)
    if len(content) > limit:  # grown since it was measured
        raise FileTooLarge(relative)
    return content


Read = tuple[str, int, int]  # a JPEG read: (its sha256, width, height)


def read_jpegs(
    root: str, kept: tuple[str, ...], relatives: list[str], limit: int, pixels: int
) -> list[Read | None]:
    """In a reading process: each of the JPEGs at `relatives` below the import root read as `read_opened`
    reads it, hashed, and its size taken from its markers. None for a file to be read again by the
    importing process, which gives the reason of a refusal (a symlink, no regular file, over `limit` bytes
    or `pixels` pixels, anything Pillow is to judge, any error): the common file costs the processes'
    hand-over a few bytes, and the rare one is read twice."""
    answers: list[Read | None] = []
    for relative in relatives:
        try:
            content = read_opened(root, kept, relative, limit)
        except Exception:  # noqa: BLE001 (the importing process reads it again and says why)
            content = None
        size = jpeg_size(content) if content is not None else None
        if size is None or size[0] * size[1] > pixels:
            answers.append(None)
            continue
        answers.append((hashlib.sha256(content).hexdigest(), size[0], size[1]))
    return answers


# The reading processes, started at the first import that uses them and kept for the process's life (their
# start costs about 50 ms, as much as reading 1,000 photos). A fork of this process has none of them (a
# pool is its maker's): it starts its own if it asks.
_pool: ProcessPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def reading_processes(count: int) -> ProcessPoolExecutor:
    """The pool of `count` reading processes."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            _pool, _pool_pid = ProcessPoolExecutor(count, mp_context=context), os.getpid()
        return _pool


def reading_processes_lost(pool: ProcessPoolExecutor) -> None:
    """`pool` broke (a process of it was killed): the next import starts new ones."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
