"""Snapshot format 3: a shape row whose points an earlier row already has (an edit that left them: attributes
set, relabelled) refers to that row, so a snapshot grows with the coordinates drawn, not with the edits
made to the shapes; format 2 snapshots (points always written out) still read."""

from __future__ import annotations

import json

from apps.labeling.domain import evolve, initial_state, state_from_dict, state_to_dict
from apps.labeling.domain.events import AttributesSet, PolygonAdded, Saved, ShapeRelabeled

RING = ((10.0, 10.0), (60.5, 12.25), (40.0, 55.0), (12.0, 40.0))


def attributed_state() -> object:
    state = initial_state(100, 80)
    for event in (
        PolygonAdded(1, "a", 7, RING),
        PolygonAdded(1, "b", 7, tuple((x + 1, y) for x, y in RING)),
        AttributesSet(1, "a", (("colour", "red"),)),
        ShapeRelabeled(1, "b", 8),
        Saved(1),
    ):
        state = evolve(state, event)
    return state


def test_rows_that_share_points_refer_to_the_first_and_the_state_round_trips() -> None:
    state = attributed_state()

    raw = json.loads(json.dumps(state_to_dict(state)))

    assert raw["format"] == 3
    written = [row[3] for row in raw["table"]]
    assert sum(isinstance(points, list) for points in written) == 2  # one list per distinct ring
    assert all(isinstance(written[points], list) for points in written if isinstance(points, int))
    assert state_from_dict(raw) == state


def test_a_format_2_snapshot_with_every_ring_written_out_reads_the_same() -> None:
    state = attributed_state()
    raw = json.loads(json.dumps(state_to_dict(state)))
    table = raw["table"]
    for row in table:
        while isinstance(row[3], int):  # as format 2 wrote it: the points themselves
            row[3] = table[row[3]][3]

    assert state_from_dict({**raw, "format": 2}) == state
