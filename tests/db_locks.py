"""Tests that hold one PostgreSQL transaction while another connection runs: the other connection's work in
a thread, and what PostgreSQL says of it (whether it waits on a lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection, connections

JOIN = 20.0  # seconds: bounds a failing test only


def waits_on_a_lock(pid: int) -> bool:
    """Whether the backend `pid` waits on a lock now (a row, a relation, another transaction's end).
    Asked again afresh each time: inside a transaction, pg_stat_activity keeps its first answer."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


class OnItsOwnConnection(threading.Thread):
    """`work` run in a thread on a connection of its own, started at once: `pid` is its backend once
    `opened` is set, `failures` what it raised."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__()
        self.work = work
        self.opened = threading.Event()
        self.pid = 0
        self.failures: list[BaseException] = []
        self.start()

    def run(self) -> None:
        try:
            connection.ensure_connection()
            self.pid = connection.connection.info.backend_pid
            self.opened.set()
            self.work()
        except BaseException as error:  # noqa: BLE001 - the test asserts there were none
            self.failures.append(error)
        finally:
            connection.close()

    def until_it_waits_on_a_lock(self) -> None:
        """Return once the work waits on a lock (or has ended); each look is a query."""
        assert self.opened.wait(JOIN)
        for _ in range(5000):
            if not self.is_alive() or waits_on_a_lock(self.pid):
                return
