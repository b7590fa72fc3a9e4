"""Statements whose best plan depends on their parameters' values: planned for those values every time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def planned_for_values() -> Iterator[None]:
    """Inside, PostgreSQL plans each statement for the values it is given, never with the generic plan
    of a prepared statement (config/settings.py lets psycopg prepare a statement once it has run
    POLYLOG_PG_PREPARE_THRESHOLD times on a connection, and after five more runs PostgreSQL may keep one
    plan for every value). A search pattern is the case: the generic plan of `path LIKE $1` cannot know
    how rare the pattern is, so it walks a million items in id order to find one file name (1.8 s against
    50 ms; docs/performance.md). A transaction holds the setting (SET LOCAL): inside a caller's own
    transaction it lasts to that one's end. Elsewhere (SQLite) a no-op."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
