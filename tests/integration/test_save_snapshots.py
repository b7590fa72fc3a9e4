"""A save stores the item's state as a snapshot (store.snapshot_due), so an export reads a saved item's state
as one row instead of folding its whole stream (issue 22: attribute events doubled the events an export
folded), and reads it without the undo history it does not use."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.labeling import store
from apps.labeling.domain import state_from_dict
from apps.labeling.models import Snapshot, StoredEvent
from tests.conftest import new_id, replay_log

pytestmark = pytest.mark.django_db


def snapshot_seqs(item: Any) -> list[int]:
    return list(Snapshot.objects.filter(item=item).order_by("seq").values_list("seq", flat=True))


def test_a_save_stores_a_snapshot_unless_the_last_one_is_a_few_events_before_it(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, add_polygon: Any, settings: Any
) -> None:
    # K = 20: snapshots at multiples of 20, and at a save at least K/10 = 2 events past the last one.
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 20}
    for n in range(3):
        add_polygon(
            annotator_api, item.pk, labels["cat"].pk, points=[[5 + 20 * n, 5], [15 + 20 * n, 5], [10, 15]]
        )
    send(annotator_api, item.pk, {"type": "save"})  # seq 4: four events past the start
    add_polygon(annotator_api, item.pk, labels["dog"].pk)
    send(annotator_api, item.pk, {"type": "save"})  # seq 6: two past the save at 4
    send(annotator_api, item.pk, {"type": "save"})  # seq 7: one past the save at 6, no snapshot

    assert snapshot_seqs(item) == [4, 6]
    for snapshot in Snapshot.objects.filter(item=item):
        assert state_from_dict(snapshot.state) == replay_log(item, snapshot.seq)


def test_an_export_reads_a_saved_items_state_from_its_save_and_folds_only_what_came_after(
    items: list[Any],
    labels: dict[str, Any],
    annotator_api: Any,
    send: Any,
    add_polygon: Any,
    settings: Any,
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 20}
    saved, edited, untouched = items
    for target in (saved, edited):
        shape = new_id()
        add_polygon(annotator_api, target.pk, labels["cat"].pk, shape_id=shape)
        add_polygon(annotator_api, target.pk, labels["dog"].pk, points=[[30, 5], [40, 5], [35, 15]])
        send(annotator_api, target.pk, {"type": "save"})
    # After the save: a move and an undo of it, which folds from the undo stack the snapshot holds.
    send(annotator_api, edited.pk, {"type": "move_shape", "shape_id": shape, "dx": 2, "dy": 1})
    send(annotator_api, edited.pk, {"type": "undo"})
    send(annotator_api, edited.pk, {"type": "move_shape", "shape_id": shape, "dx": 1, "dy": 1})
    for target in items:
        target.refresh_from_db()
    heads = [(i.pk, i.image.width, i.image.height, i.last_seq) for i in items]

    store.state_cache.clear()
    with CaptureQueriesContext(connection) as queries:
        states = store.states_load_many(heads[:1], history=False)
    events_read = [q["sql"] for q in queries.captured_queries if StoredEvent._meta.db_table in q["sql"]]
    assert events_read == []  # the saved item: its snapshot at the save, no event read
    replayed = replay_log(saved)
    assert (states[saved.pk].seq, states[saved.pk].shapes, states[saved.pk].saved) == (
        replayed.seq,
        replayed.shapes,
        replayed.saved,
    )
    assert states[saved.pk].undo == {}  # what an export does not read is not built

    store.state_cache.clear()
    states = store.states_load_many(heads, history=False)
    for target in items:
        replayed = replay_log(target)
        assert (states[target.pk].seq, states[target.pk].shapes) == (replayed.seq, replayed.shapes)
    assert states[untouched.pk].seq == 0
    store.state_cache.clear()
    assert store.states_load_many(heads) == {target.pk: replay_log(target) for target in items}
