"""SQLite's write-ahead log checkpointed by a thread of the server rather than by whichever write commits.

In WAL mode SQLite copies the log back into the database file (a checkpoint) on the commit that finds the
log over `wal_autocheckpoint` pages (1,000 by default), and that commit waits for it: one batch of an
import's registration in two took 25 ms instead of 7 (docs/performance.md), and a person's command that
lands on it waits as long. A server process of the embedded setup checkpoints every
POLYLOG["SQLITE_CHECKPOINT_SECONDS"] from a daemon thread instead, PASSIVE: it waits for no reader or
writer, and the next write after a complete checkpoint starts the log from its beginning again, so the
log holds about one interval's writes. The process's connections keep a commit's own checkpoint only as
a backstop, at BACKSTOP_PAGES (40 MB of log), should the thread fall behind or stop.

PostgreSQL has its own background writer and checkpointer: none of this runs there."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 10_000

_thread: threading.Thread | None = None
_lock = threading.Lock()


def checkpointing_start() -> bool:
    """At a server's start: checkpoint from a thread of this process, and let this process's new SQLite
    connections leave the checkpoints to it. Once per process; False where there is nothing to do (not
    SQLite, a database in memory, or the setting 0)."""
    global _thread
    interval = settings.POLYLOG["SQLITE_CHECKPOINT_SECONDS"]
    if not interval or connection.vendor != "sqlite" or _in_memory(connection.settings_dict["NAME"]):
        return False
    with _lock:
        if _thread is not None:
            return True
        connection_created.connect(_backstop, dispatch_uid="common.sqlite_wal.backstop")
        _thread = threading.Thread(target=_checkpoint_forever, name="polylog-sqlite-checkpoint", daemon=True)
    _thread.start()
    return True


def _in_memory(name: object) -> bool:
    text = str(name)
    return text == ":memory:" or "mode=memory" in text


def _backstop(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")


def checkpoint() -> tuple[int, int, int]:
    """One PASSIVE checkpoint on this thread's connection: (1 if it could not finish for a writer or a
    reader in the way else 0, pages in the log, pages of it now in the database file), as SQLite says."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        busy, logged, copied = cursor.fetchone()
    return busy, logged, copied


def _checkpoint_forever() -> None:
    while True:
        time.sleep(settings.POLYLOG["SQLITE_CHECKPOINT_SECONDS"] or 1)
        try:
            checkpoint()
        except Exception:  # the database away for a moment: the next round tries again
            log.warning("the SQLite checkpoint failed", exc_info=True)
