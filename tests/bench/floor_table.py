"""The floor's events table: created by the bench (tests/bench/ws.py), written by the floor consumer
(tests/bench/floor.py). No Django here: the bench's client process imports it."""

from __future__ import annotations

TABLE = "bench_floor_event"


def table_sql(vendor: str) -> str:
    """CREATE TABLE of the floor's events. The body is jsonb on PostgreSQL, as polylog's payloads are."""
    body = "jsonb" if vendor == "postgresql" else "text"
    return (
        f"CREATE TABLE {TABLE} (stream integer NOT NULL, seq integer NOT NULL, command_id varchar(64) NOT NULL,"
        f" body {body} NOT NULL, created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,"
        " PRIMARY KEY (stream, seq))"
    )


def insert_sql(vendor: str) -> str:
    """One event as the next seq of its stream, read and written in one statement (parameters: stream,
    command_id, body, stream). Two writers that read the same last seq collide on the key."""
    body = "CAST(%s AS jsonb)" if vendor == "postgresql" else "%s"
    return (
        f"INSERT INTO {TABLE} (stream, seq, command_id, body)"
        f" SELECT %s, COALESCE(MAX(seq), 0) + 1, %s, {body} FROM {TABLE} WHERE stream = %s"
        " RETURNING seq"
    )
