"""LabelingClient's mirror of the item: the events it receives, folded into the state when asked for.

No server: a stand-in connection hands the client the frames a server would send.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from polylog_client import LabelingClient

from apps.labeling.domain import event_from_record, event_payload, event_type, initial_state, replay
from apps.labeling.domain.events import PolygonClosed, VertexAdded
from tests.client_fold import DOMAIN_FOLD

pytestmark = pytest.mark.asyncio
WIDTH, HEIGHT = 640.0, 480.0


class FramesConnection:
    """Yields the frames put in `frames` (None ends the stream), records what the client sends."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[str | None] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.close_code = 1000

    def __aiter__(self) -> FramesConnection:
        return self

    async def __anext__(self) -> str:
        frame = await self.frames.get()
        if frame is None:
            raise StopAsyncIteration
        return frame

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self) -> None:
        self.frames.put_nowait(None)


def square(actor: int, shape_id: str, left: float) -> list[Any]:
    corners = [(left, 10.0), (left + 20, 10.0), (left + 20, 30.0), (left, 30.0)]
    return [VertexAdded(actor, shape_id, x, y) for x, y in corners] + [PolygonClosed(actor, shape_id, 1)]


def frames_of(events: list[Any], first_seq: int) -> list[str]:
    return [
        json.dumps(
            {
                "type": "event",
                "event": {
                    "seq": seq,
                    "type": event_type(event),
                    "payload": event_payload(event),
                    "actor": event.actor,
                    "created_at": "2026-11-27T00:00:00Z",
                },
            }
        )
        for seq, event in enumerate(events, start=first_seq)
    ]


async def received(client: LabelingClient, connection: FramesConnection, frames: list[str]) -> None:
    for frame in frames:
        connection.frames.put_nowait(frame)
    await client.wait_for_seq(client.seq + len(frames), timeout=5)


async def test_the_state_is_the_fold_of_every_event_received_however_often_it_is_asked_for() -> None:
    connection = FramesConnection()
    client = LabelingClient(connection, 7, width=WIDTH, height=HEIGHT, fold=DOMAIN_FOLD)  # type: ignore[arg-type]
    first, second = square(1, "a", 10.0), square(2, "b", 100.0)
    await received(client, connection, frames_of(first, 1))
    assert client.state() == replay(initial_state(WIDTH, HEIGHT), first)
    # Asked for again after more events: the new ones are folded on top, the earlier ones not twice.
    await received(client, connection, frames_of(second, 1 + len(first)))
    assert client.state() == replay(initial_state(WIDTH, HEIGHT), first + second)
    assert client.state() == client.state()
    assert [shape["id"] for shape in client.state_view()["shapes"]] == ["a", "b"]
    await client.close()


async def test_a_client_taking_over_carries_on_the_fold_of_the_one_that_dropped() -> None:
    earlier_connection, later_connection = FramesConnection(), FramesConnection()
    earlier = LabelingClient(earlier_connection, 7, width=WIDTH, height=HEIGHT, fold=DOMAIN_FOLD)  # type: ignore[arg-type]
    first, second, third = square(1, "a", 10.0), square(1, "b", 100.0), square(2, "c", 200.0)
    await received(earlier, earlier_connection, frames_of(first, 1))
    earlier.state()  # folded up to here
    await received(earlier, earlier_connection, frames_of(second, 1 + len(first)))  # received, not folded
    await earlier.close()
    later = LabelingClient(later_connection, 7, width=WIDTH, height=HEIGHT, fold=DOMAIN_FOLD)  # type: ignore[arg-type]
    later.take_over(earlier)
    await received(later, later_connection, frames_of(third, 1 + len(first) + len(second)))
    everything = first + second + third
    assert later.state() == replay(initial_state(WIDTH, HEIGHT), everything)
    assert [event_from_record(e["type"], 1, e["payload"], e["actor"]) for e in later.events] == everything
    await later.close()


async def test_merges_cuts_and_splits_received_fold_into_the_same_state_as_the_servers() -> None:
    from apps.labeling.domain import Context, decide
    from apps.labeling.domain.commands import AddPolygon, MergeShapes, SplitShape, SubtractShape, Undo

    context = Context(actor=1, label_class_ids=frozenset({1, 2}))
    state, events = initial_state(WIDTH, HEIGHT), []
    for command in (
        AddPolygon("a", 1, ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))),
        AddPolygon("b", 1, ((20.0, 20.0), (40.0, 20.0), (40.0, 40.0), (20.0, 40.0))),
        AddPolygon("c", 2, ((0.0, 18.0), (60.0, 18.0), (60.0, 22.0), (0.0, 22.0))),
        MergeShapes(("a", "b"), "a"),
        SubtractShape("a", "c"),
        SplitShape("c", ((35.0, 0.0), (35.0, 40.0))),
        Undo(),
    ):
        new = decide(state, command, context)
        state, events = replay(state, new), events + new
    connection = FramesConnection()
    client = LabelingClient(connection, 7, width=WIDTH, height=HEIGHT, fold=DOMAIN_FOLD)  # type: ignore[arg-type]

    await received(client, connection, frames_of(events, 1))

    assert client.state() == state
    assert len(client.state_view()["shapes"]) == 3  # the split undone; the cut's new part stays
    await client.close()


async def test_a_paste_received_folds_into_the_same_state_as_the_servers() -> None:
    from apps.labeling.domain import Context, decide
    from apps.labeling.domain.commands import AddPolygon, PasteShapes, Undo

    context = Context(actor=1, label_class_ids=frozenset({1, 2}))
    square = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))
    state, events = initial_state(WIDTH, HEIGHT), []
    for command in (
        AddPolygon("a", 1, square),
        PasteShapes((AddPolygon("b", 1, square, "copy"), AddPolygon("c", 2, square, "copy"))),
        PasteShapes((AddPolygon("d", 2, square),)),
        Undo(),
    ):
        new = decide(state, command, context)
        state, events = replay(state, new), events + new
    connection = FramesConnection()
    client = LabelingClient(connection, 7, width=WIDTH, height=HEIGHT, fold=DOMAIN_FOLD)  # type: ignore[arg-type]

    await received(client, connection, frames_of(events, 1))

    assert client.state() == state
    assert [(s["id"], s["number"]) for s in client.state_view()["shapes"]] == [("a", 1), ("b", 2), ("c", 3)]
    await client.close()


async def test_attribute_values_received_fold_into_the_same_state_as_the_servers() -> None:
    from apps.labeling.domain import Context, decide
    from apps.labeling.domain.attributes import parse_declarations
    from apps.labeling.domain.commands import AddPolygon, RelabelShape, SetAttributes, SplitShape, Undo

    declared = parse_declarations(
        [{"name": "occluded", "kind": "checkbox"}, {"name": "count", "kind": "number", "default": 2}]
    )
    context = Context(
        actor=1, label_class_ids=frozenset({1, 2}), attributes={1: {spec.name: spec for spec in declared}}
    )
    square = ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0))
    state, events = initial_state(WIDTH, HEIGHT), []
    for command in (
        AddPolygon("a", 1, square),
        SetAttributes("a", (("count", 5), ("occluded", True))),
        SetAttributes("a", (("count", None),)),
        SplitShape("a", ((20.0, 0.0), (20.0, 40.0))),
        RelabelShape("a", 2),
        Undo(),
    ):
        new = decide(state, command, context)
        state, events = replay(state, new), events + new
    connection = FramesConnection()
    client = LabelingClient(connection, 7, width=WIDTH, height=HEIGHT, fold=DOMAIN_FOLD)  # type: ignore[arg-type]

    await received(client, connection, frames_of(events, 1))

    assert client.state() == state
    # Both parts of the split keep the value; the relabel's undo brought it back.
    assert [s.get("attributes") for s in client.state_view()["shapes"]] == [{"occluded": True}] * 2
    await client.close()
