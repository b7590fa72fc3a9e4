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


# Bitmap scans only, and a plan for the values given (see planned_for_values).
THROUGH_INDEXES = {
    "enable_seqscan": "off",
    "enable_indexscan": "off",
    "enable_indexonlyscan": "off",
    "plan_cache_mode": "force_custom_plan",
}


@contextmanager
def read_through_indexes() -> Iterator[None]:
    """Inside, PostgreSQL reads a table only through a bitmap of an index its conditions name (no
    sequential scan, no walk of an index in its order), planned for the values given: for a statement
    with a LIMIT that the planner thinks many rows meet, where those rows are in fact few. With `LIMIT n`
    and a guess of many rows, it plans to stop after n rows in whatever order it reads (a walk of the
    primary key, a sequential scan), and when the rows are few it reads the whole table instead (a search
    at a million images: 2.8 s for 1,000 matches, docs/performance.md). Where no index answers, the table
    is still read (a disabled plan is taken when it is the only one). The settings are the transaction's
    (SET LOCAL; one is opened if none is) and set back on the way out, so a caller's own transaction goes
    on with its own (an error inside rolls them back with its savepoint). Elsewhere (SQLite) a no-op."""
    if connection.vendor != "postgresql":
        yield
        return
    names = list(THROUGH_INDEXES)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
        before = cursor.fetchone()
        assignments = ", ".join(f"set_config('{name}', %s, true)" for name in names)
        cursor.execute(f"SELECT {assignments}", [THROUGH_INDEXES[name] for name in names])
        yield
        cursor.execute(f"SELECT {assignments}", before)
