"""The read-model rows a command writes beside its events: the item's label rows (ItemLabel), its
attribute rows (ItemAttribute) and the job's tallies (JobTally). Each is a list of plain statements that
`commit` may guard with a condition (a data-modifying WITH, see write._append_and_update), or that a
rebuild's repair runs as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection

from ..models import ItemAttribute, ItemLabel, JobTally

_Statement = tuple[str, list[Any]]


def _rows_in(values: list[tuple[Any, ...]], when: str) -> tuple[str, list[Any]]:
    """`VALUES (...), ...`, or with `when` the same rows as `SELECT * FROM (VALUES ...) v WHERE when`."""
    marks = ", ".join(["(" + ", ".join(["%s"] * len(values[0])) + ")"] * len(values))
    params = [value for row in values for value in row]
    return (f"SELECT * FROM (VALUES {marks}) v WHERE {when}" if when else f"VALUES {marks}"), params


def item_label_statements(
    item_id: int, old: Mapping[int, int], new: Mapping[int, int], when: str = ""
) -> list[_Statement]:
    """The statements that bring ItemLabel rows from `old` counts to `new` counts, as few as it takes.
    With `when` (an SQL condition), each writes only if it holds: the guard of a data-modifying WITH
    (see _append_and_update)."""
    if old == new:
        return []
    table = ItemLabel._meta.db_table
    guard = f" AND {when}" if when else ""
    gone = [label for label in old if label not in new]
    added = [(item_id, label, count) for label, count in new.items() if label not in old]
    changed = [
        (count, item_id, label) for label, count in new.items() if label in old and old[label] != count
    ]
    statements: list[_Statement] = []
    if gone:
        marks = ", ".join(["%s"] * len(gone))
        statements.append(
            (
                f"DELETE FROM {table} WHERE item_id = %s AND label_class_id IN ({marks}){guard}",
                [item_id, *gone],
            )
        )
    if added:
        rows, params = _rows_in(added, when)
        statements.append((f"INSERT INTO {table} (item_id, label_class_id, shape_count) {rows}", params))
    for params in changed:
        statements.append(
            (
                f"UPDATE {table} SET shape_count = %s WHERE item_id = %s AND label_class_id = %s{guard}",
                list(params),
            )
        )
    return statements


def item_attribute_statements(
    item_id: int,
    old: Mapping[tuple[int, str, str], int],
    new: Mapping[tuple[int, str, str], int],
    when: str = "",
) -> list[_Statement]:
    """The statements that bring ItemAttribute rows from `old` counts to `new` counts ((label class,
    name, value key) -> shapes); none when they are equal, which is nearly every command. `when` as in
    item_label_statements."""
    if old == new:
        return []
    table = ItemAttribute._meta.db_table
    guard = f" AND {when}" if when else ""
    statements: list[_Statement] = []
    for label, name, value in sorted(key for key in old if key not in new):
        statements.append(
            (
                f"DELETE FROM {table} WHERE item_id = %s AND label_class_id = %s AND name = %s"
                f" AND value = %s{guard}",
                [item_id, label, name, value],
            )
        )
    added = [(item_id, *key, count) for key, count in sorted(new.items()) if key not in old]
    if added:
        rows, params = _rows_in(added, when)
        statements.append(
            (f"INSERT INTO {table} (item_id, label_class_id, name, value, shape_count) {rows}", params)
        )
    for (label, name, value), count in sorted(new.items()):
        if (label, name, value) in old and old[(label, name, value)] != count:
            statements.append(
                (
                    f"UPDATE {table} SET shape_count = %s WHERE item_id = %s AND label_class_id = %s"
                    f" AND name = %s AND value = %s{guard}",
                    [count, item_id, label, name, value],
                )
            )
    return statements


def item_attribute_rows_sync(
    item_id: int, old: Mapping[tuple[int, str, str], int], new: Mapping[tuple[int, str, str], int]
) -> None:
    """Bring ItemAttribute rows from `old` counts to `new` counts (a rebuild's repair)."""
    _statements_run(item_attribute_statements(item_id, old, new))


def _statements_run(statements: Iterable[_Statement]) -> None:
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def item_label_rows_sync(item_id: int, old: dict[int, int], new: dict[int, int]) -> None:
    """Bring ItemLabel rows from `old` counts to `new` counts. Plain SQL: a command that closes or
    deletes a shape runs this, and the ORM cost more than the statements."""
    _statements_run(item_label_statements(item_id, old, new))


def tally_statements(job_id: int, deltas: Mapping[str, int], when: str = "") -> list[_Statement]:
    """The statement adding `deltas` to the job's tallies (none if they are all zero); `when` as in
    item_label_statements. Keys are taken in sorted order, so two transactions touching the same
    tallies lock them in the same order and never deadlock."""
    keys = sorted(k for k, n in deltas.items() if n)
    if not keys:
        return []
    table = connection.ops.quote_name(JobTally._meta.db_table)
    rows, params = _rows_in([(job_id, key, deltas[key]) for key in keys], when)
    return [
        (
            f"INSERT INTO {table} (job_id, key, count) {rows} "
            f"ON CONFLICT (job_id, key) DO UPDATE SET count = {table}.count + excluded.count",
            params,
        )
    ]


def job_tally_add(job_id: int, deltas: Mapping[str, int]) -> None:
    """Add `deltas` to the job's tallies in the current transaction."""
    _statements_run(tally_statements(job_id, deltas))
