"""What PostgreSQL says of another connection, for tests that hold one transaction while another runs."""

from __future__ import annotations

from django.db import connections


def waits_on_a_lock(pid: int) -> bool:
    """Whether the backend `pid` waits on a lock now (a row, a relation, another transaction's end).
    Asked again afresh each time: inside a transaction, pg_stat_activity keeps its first answer."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"
