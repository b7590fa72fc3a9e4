"""Audit and replay over REST (docs/audit.md): an item's timeline with summaries, the state at a time, the diff
between two seqs, a job's activity, the integrity of the hash chains, and the event log as JSON Lines that
docs/verify_log.py checks. Who may read it, and that nobody writes through it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.db import connections

from apps.labeling import audit, services, store
from apps.labeling.domain import state_view
from apps.labeling.domain.commands import AddPolygon
from apps.labeling.models import StoredEvent
from apps.labeling.services import job_create, job_member_set
from config.asgi import application
from tests.conftest import LABEL_CLASSES, new_id, replay_view, square
from tests.integration.test_ws_support import Sockets, replay_received, stored_events, token_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
VERIFY_LOG = ROOT / "docs" / "verify_log.py"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WIRE_FIELDS = ("seq", "type", "payload", "actor", "created_at")
LOG_FIELDS = [
    "item_id",
    "seq",
    "type",
    "schema_version",
    "payload",
    "actor",
    "created_at",
    "command_id",
    "hash",
]


class Clock:
    """The service's clock in these tests: each event one minute after the one before, from START."""

    def __init__(self) -> None:
        self.next = START

    def now(self) -> datetime:
        moment, self.next = self.next, self.next + timedelta(minutes=1)
        return moment

    def jump_to(self, moment: datetime) -> None:
        self.next = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(services.commands, "timezone", SimpleNamespace(now=ticking.now))
    return ticking


def at(seq: int) -> datetime:
    """When the session's event `seq` happened."""
    return START + timedelta(minutes=seq - 1)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def short(shape_id: str) -> str:
    return f"{shape_id[:4]}…"


def get_json(client: Any, url: str, **query: Any) -> Any:
    response = client.get(url, query)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def session(
    clock: Clock,
    item: Any,
    labels: dict[str, Any],
    annotator_api: Any,
    annotator2: Any,
    client_for: Callable[[Any], Any],
    send: Any,
) -> SimpleNamespace:
    """A known session of 17 events by ann_annotator and bob_annotator on the cat image, one a minute
    from 09:00 UTC on 1 March 2026 (seq n at 09:n-1). Returns the shape ids A (ann's) and B (bob's)."""
    bob = client_for(annotator2)
    a, b = new_id(), new_id()
    cat, dog = labels["cat"].pk, labels["dog"].pk
    steps = [
        (annotator_api, {"type": "add_vertex", "shape_id": a, "x": 10, "y": 10}),  # 1
        (annotator_api, {"type": "add_vertex", "shape_id": a, "x": 40, "y": 10}),  # 2
        (annotator_api, {"type": "add_vertex", "shape_id": a, "x": 40, "y": 40}),  # 3
        (annotator_api, {"type": "add_vertex", "shape_id": a, "x": 10, "y": 40}),  # 4
        (annotator_api, {"type": "close_polygon", "shape_id": a, "label_class_id": cat}),  # 5
        (
            bob,
            {"type": "add_polygon", "shape_id": b, "label_class_id": dog, "points": square(50, 20, 20)},
        ),  # 6
        (bob, {"type": "move_vertex", "shape_id": a, "index": 2, "x": 45, "y": 45}),  # 7
        (annotator_api, {"type": "save"}),  # 8
        (annotator_api, {"type": "move_shape", "shape_id": a, "dx": 5, "dy": 2.5}),  # 9
        (annotator_api, {"type": "relabel_shape", "shape_id": a, "label_class_id": dog}),  # 10
        (bob, {"type": "delete_shape", "shape_id": b}),  # 11
        (bob, {"type": "undo"}),  # 12
        (annotator_api, {"type": "undo"}),  # 13
        (annotator_api, {"type": "redo"}),  # 14
        (annotator_api, {"type": "reset_shape", "shape_id": a}),  # 15
        (annotator_api, {"type": "discard_changes"}),  # 16: her changes since the save reverted
        (annotator_api, {"type": "mark_hard_example"}),  # 17
    ]
    for seq, (client, command) in enumerate(steps, start=1):
        sent = send(client, item.pk, command)
        assert (sent.status, sent.body["seq"]) == (201, seq), (command, sent.body)
    return SimpleNamespace(a=a, b=b, bob=bob)


def timeline_url(item: Any) -> str:
    return f"/api/items/{item.pk}/timeline/"


def timeline(client: Any, item: Any, **query: Any) -> dict[str, Any]:
    return get_json(client, timeline_url(item), **query)


# Timeline -----------------------------------------------------------------------------------------


def test_the_timeline_tells_who_did_what_when_in_seq_order(
    session: SimpleNamespace, item: Any, annotator: Any, annotator2: Any, auditor_api: Any
) -> None:
    page = timeline(auditor_api, item, page_size=100)

    assert (page["count"], page["last_seq"], page["next"]) == (17, 17, None)
    entries = page["results"]
    assert [e["seq"] for e in entries] == list(range(1, 18))
    assert [e["created_at"] for e in entries] == [store.iso(at(seq)) for seq in range(1, 18)]
    ann, bob = annotator.pk, annotator2.pk
    assert [e["actor"] for e in entries] == [ann] * 5 + [bob, bob] + [ann] * 3 + [bob, bob] + [ann] * 5
    assert {e["actor_name"] for e in entries} == {"ann_annotator", "bob_annotator"}
    assert [e["summary"] for e in entries] == [
        "ann_annotator started polygon #1 at (10, 10)",
        "ann_annotator added vertex 2 to polygon #1 at (40, 10)",
        "ann_annotator added vertex 3 to polygon #1 at (40, 40)",
        "ann_annotator added vertex 4 to polygon #1 at (10, 40)",
        "ann_annotator drew cat #1 (4 vertices)",
        "bob_annotator added dog #2 (4 vertices)",
        "bob_annotator moved vertex 3 of cat #1 to (45, 45)",
        "ann_annotator saved (2 shapes)",
        "ann_annotator moved cat #1 by (5, 2.5)",
        "ann_annotator relabeled cat #1 as dog",
        "bob_annotator deleted dog #2",
        "bob_annotator undid 'deleted dog #2'",
        "ann_annotator undid 'relabeled cat #1 as dog'",
        "ann_annotator redid 'relabeled cat #1 as dog'",
        "ann_annotator reset dog #1 to its original geometry",
        "ann_annotator discarded their changes (1 shape)",
        "ann_annotator marked the image as a hard example",
    ]
    assert [e["draft_step"] for e in entries] == [True] * 4 + [False] * 13
    assert [e["shape_number"] for e in entries] == [
        1,
        1,
        1,
        1,
        1,
        2,
        1,
        None,
        1,
        1,
        2,
        2,
        1,
        1,
        1,
        None,
        None,
    ]
    events = get_json(auditor_api, f"/api/items/{item.pk}/events/")["results"]
    assert [{k: e[k] for k in events[0]} for e in entries] == events  # the events endpoint's fields, as is


def test_the_timeline_filters_by_actor_type_and_time(
    session: SimpleNamespace, item: Any, annotator: Any, annotator2: Any, auditor_api: Any
) -> None:
    def seqs(**query: Any) -> list[int]:
        return [e["seq"] for e in timeline(auditor_api, item, **query)["results"]]

    assert seqs(actor=annotator2.pk) == [6, 7, 11, 12]
    assert seqs(type="polygon_closed,polygon_added") == [5, 6]
    assert seqs(type=" undone , redone ") == [12, 13, 14]
    assert seqs(since=stamp(at(5)), until=stamp(at(7))) == [5, 6, 7]  # both ends included
    assert seqs(since=stamp(at(5) + timedelta(seconds=1)), until=stamp(at(7) - timedelta(seconds=1))) == [6]
    assert seqs(actor=annotator.pk, type="undone") == [13]
    assert seqs(until=stamp(START - timedelta(days=1))) == []
    assert timeline(auditor_api, item, actor=annotator2.pk)["last_seq"] == 17


def test_the_timeline_comes_in_pages(session: SimpleNamespace, item: Any, auditor_api: Any) -> None:
    second = timeline(auditor_api, item, page_size=5, page=2)
    last = timeline(auditor_api, item, page_size=5, page=4)

    assert second["count"] == 17
    assert [e["seq"] for e in second["results"]] == [6, 7, 8, 9, 10]
    assert "page=3" in second["next"] and "page_size=5" in second["next"]
    assert [e["seq"] for e in last["results"]] == [16, 17]
    assert last["next"] is None


def test_a_summary_reads_the_same_on_any_page_under_any_filter(
    settings: Any,
    clock: Clock,
    item: Any,
    labels: dict[str, Any],
    annotator_api: Any,
    annotator2: Any,
    client_for: Any,
    send: Any,
    auditor_api: Any,
) -> None:
    """A filtered page's events are far apart in the stream; each summary still reads the state just before
    its own event (from snapshots every 3 events here), so it says what the full timeline says."""
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 3}
    bob = client_for(annotator2)

    def sent(client: Any, command: dict[str, Any]) -> None:
        assert send(client, item.pk, command).status == 201, command

    for n in range(4):
        shape_id = new_id()
        corners = [(5 + 20 * n, 5), (20 + 20 * n, 5), (20 + 20 * n, 20 + n), (5 + 20 * n, 20)]
        for x, y in corners[: 3 + n % 2]:
            sent(bob, {"type": "add_vertex", "shape_id": new_id(), "x": 3 + n, "y": 70})
            sent(annotator_api, {"type": "add_vertex", "shape_id": shape_id, "x": x, "y": y})
        sent(
            annotator_api, {"type": "close_polygon", "shape_id": shape_id, "label_class_id": labels["cat"].pk}
        )
        sent(
            annotator_api, {"type": "relabel_shape", "shape_id": shape_id, "label_class_id": labels["dog"].pk}
        )
    full = {e["seq"]: e["summary"] for e in timeline(auditor_api, item, page_size=500)["results"]}

    closed = timeline(auditor_api, item, type="polygon_closed")["results"]
    relabeled = timeline(auditor_api, item, type="shape_relabeled", page_size=2, page=2)["results"]
    bobs = timeline(auditor_api, item, actor=annotator2.pk, page_size=3, page=2)["results"]

    # bob starts a polygon of his own before each of ann's vertices: ann's polygons are #2, #6, #11, #15.
    assert [e["summary"] for e in closed] == [
        "ann_annotator drew cat #2 (3 vertices)",
        "ann_annotator drew cat #6 (4 vertices)",
        "ann_annotator drew cat #11 (3 vertices)",
        "ann_annotator drew cat #15 (4 vertices)",
    ]
    for entry in [*closed, *relabeled, *bobs]:
        assert entry["summary"] == full[entry["seq"]]
    assert (len(relabeled), len(bobs)) == (2, 3)
    assert all(e["summary"].startswith("ann_annotator relabeled cat #") for e in relabeled)


def test_the_timeline_marks_a_drafts_steps_and_quotes_what_each_undo_took_back(
    clock: Clock,
    item: Any,
    labels: dict[str, Any],
    annotator_api: Any,
    annotator2: Any,
    client_for: Any,
    send: Any,
    auditor_api: Any,
) -> None:
    """ann draws polygon #1 while bob adds dog #2; ann's undo while drawing is one of her draft's steps; bob's
    undo quotes the polygon he added (as added, not drawn); ann's undo of a move bob changed since names him."""
    bob = client_for(annotator2)
    c, d = new_id(), new_id()
    cat, dog = labels["cat"].pk, labels["dog"].pk
    steps = [
        (annotator_api, {"type": "add_vertex", "shape_id": c, "x": 10, "y": 10}),  # 1
        (annotator_api, {"type": "add_vertex", "shape_id": c, "x": 40, "y": 10}),  # 2
        (
            bob,
            {"type": "add_polygon", "shape_id": d, "label_class_id": dog, "points": square(50, 20, 20)},
        ),  # 3
        (annotator_api, {"type": "add_vertex", "shape_id": c, "x": 40, "y": 45}),  # 4
        (annotator_api, {"type": "undo"}),  # 5: the vertex just added
        (annotator_api, {"type": "add_vertex", "shape_id": c, "x": 40, "y": 40}),  # 6
        (annotator_api, {"type": "close_polygon", "shape_id": c, "label_class_id": cat}),  # 7
        (bob, {"type": "undo"}),  # 8: his polygon
        (annotator_api, {"type": "move_shape", "shape_id": c, "dx": 5, "dy": 5}),  # 9
        (bob, {"type": "move_vertex", "shape_id": c, "index": 0, "x": 12, "y": 12}),  # 10
        (annotator_api, {"type": "undo"}),  # 11: her move, which bob changed since
    ]
    for seq, (client, command) in enumerate(steps, start=1):
        sent = send(client, item.pk, command)
        assert (sent.status, sent.body["seq"]) == (201, seq), (command, sent.body)

    entries = timeline(auditor_api, item)["results"]

    assert [e["draft_step"] for e in entries] == [True, True, False, True, True, True] + [False] * 5
    assert [e["shape_number"] for e in entries] == [1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1]
    assert [e["summary"] for e in entries[4:]] == [
        "ann_annotator undid 'added vertex 3 to polygon #1'",
        "ann_annotator added vertex 3 to polygon #1 at (40, 40)",
        "ann_annotator drew cat #1 (3 vertices)",
        "bob_annotator undid 'added dog #2 (4 vertices)'",
        "ann_annotator moved cat #1 by (5, 5)",
        "bob_annotator moved vertex 1 of cat #1 to (12, 12)",
        "ann_annotator undid 'moved cat #1 by (5, 5)'; cat #1 left as it was: bob_annotator changed it since",
    ]
    # Filtered to ann's undos, the page still quotes and names as the whole timeline does.
    assert [e["summary"] for e in timeline(auditor_api, item, type="undone")["results"]] == [
        entries[4]["summary"],
        entries[7]["summary"],
        entries[10]["summary"],
    ]


@pytest.mark.parametrize("span", [0, 1, 3, 2000])
def test_the_state_before_each_event_is_the_fold_up_to_it_however_the_stream_is_walked(
    session: SimpleNamespace, item: Any, settings: Any, span: int
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 4}
    seqs = [1, 2, 5, 6, 7, 11, 16, 17]

    befores = store.states_before(item.pk, 100, 80, seqs, span=span)

    assert [state.seq for state in befores] == [seq - 1 for seq in seqs]
    assert [state_view(state, item.pk) for state in befores] == [replay_view(item, seq - 1) for seq in seqs]


def test_an_event_altered_into_nonsense_still_leaves_a_readable_timeline(
    session: SimpleNamespace, item: Any, auditor_api: Any
) -> None:
    StoredEvent.objects.filter(item=item, seq=9).update(
        type="shape_teleported"
    )  # tampering, as only a test may

    entries = timeline(auditor_api, item, page_size=100)["results"]

    assert len(entries) == 17
    assert (
        entries[8]["summary"]
        == "ann_annotator: shape_teleported (an event polylog cannot read; see integrity/)"
    )
    assert entries[7]["summary"] == "ann_annotator saved (2 shapes)"
    # Past it the state cannot be rebuilt, so summaries say what their own events hold.
    assert entries[9]["summary"] == f"ann_annotator relabeled shape {short(session.a)} as dog"
    assert entries[15]["summary"] == "ann_annotator discarded their changes (1 shape)"
    assert (entries[8]["draft_step"], entries[8]["shape_number"]) == (False, None)
    assert (entries[9]["draft_step"], entries[9]["shape_number"]) == (False, None)


def test_a_label_class_deleted_since_is_named_as_such(
    session: SimpleNamespace, item: Any, labels: dict[str, Any], manager_api: Any, auditor_api: Any
) -> None:
    response = manager_api.delete(f"/api/jobs/{item.job_id}/label-classes/{labels['dog'].pk}/?cascade=true")
    assert response.status_code == 204

    entries = timeline(auditor_api, item, type="polygon_added")["results"]

    assert entries[0]["summary"] == (
        f"bob_annotator added label class {labels['dog'].pk} (deleted) #2 (4 vertices)"
    )


@pytest.mark.parametrize(
    "query",
    [
        {"type": "polygon_drawn"},
        {"actor": "bob"},
        {"actor": 0},
        {"since": "yesterday"},
        {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"page_size": 10, "page": 99},
    ],
)
def test_bad_timeline_queries_are_refused(
    session: SimpleNamespace, item: Any, auditor_api: Any, query: dict[str, Any]
) -> None:
    response = auditor_api.get(timeline_url(item), query)

    assert response.status_code in (400, 404)
    assert response.json()["code"] == ("not_found" if "page" in query else "invalid_request")


# The state at a time ------------------------------------------------------------------------------


def test_the_state_at_a_time_is_as_of_the_last_event_at_or_before_it(
    session: SimpleNamespace, item: Any, auditor_api: Any
) -> None:
    def seq_at(moment: datetime) -> int:
        return get_json(auditor_api, f"/api/items/{item.pk}/state/", at_time=stamp(moment))["seq"]

    assert seq_at(START - timedelta(microseconds=1)) == 0
    assert seq_at(START) == 1
    assert seq_at(at(7)) == 7
    assert seq_at(at(7) + timedelta(seconds=59)) == 7  # between seq 7 and seq 8
    assert seq_at(at(8) - timedelta(microseconds=1)) == 7
    assert seq_at(at(17) + timedelta(days=3)) == 17
    between = get_json(
        auditor_api, f"/api/items/{item.pk}/state/", at_time=stamp(at(9) + timedelta(seconds=30))
    )
    assert between == replay_view(item, 9)
    before = get_json(auditor_api, f"/api/items/{item.pk}/state/", at_time=stamp(START - timedelta(days=1)))
    assert (before["seq"], before["shapes"], before["drafts"]) == (0, [], [])


# Diff ---------------------------------------------------------------------------------------------


def diff(client: Any, item: Any, from_seq: int, to_seq: int) -> dict[str, Any]:
    return get_json(client, f"/api/items/{item.pk}/diff/", from_seq=from_seq, to_seq=to_seq)


def test_the_diff_lists_shapes_added_and_removed_with_who_drew_them(
    session: SimpleNamespace,
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    auditor_api: Any,
) -> None:
    a_closed = {
        "id": session.a,
        "number": 1,
        "label_class_id": labels["cat"].pk,
        "points": [[10.0, 10.0], [40.0, 10.0], [40.0, 40.0], [10.0, 40.0]],
        "actor": annotator.pk,
    }
    b_added = {
        "id": session.b,
        "number": 2,
        "label_class_id": labels["dog"].pk,
        "points": square(50, 20, 20),
        "actor": annotator2.pk,
    }

    forward = diff(auditor_api, item, 0, 6)
    backward = diff(auditor_api, item, 6, 0)
    deleted = diff(auditor_api, item, 10, 11)

    assert forward == {"from_seq": 0, "to_seq": 6, "added": [a_closed, b_added], "removed": [], "changed": []}
    assert backward == {
        "from_seq": 6,
        "to_seq": 0,
        "added": [],
        "removed": [a_closed, b_added],
        "changed": [],
    }
    assert (deleted["added"], deleted["removed"], deleted["changed"]) == ([], [b_added], [])


def test_the_diff_ignores_drafts(session: SimpleNamespace, item: Any, auditor_api: Any) -> None:
    assert diff(auditor_api, item, 0, 4) == {
        "from_seq": 0,
        "to_seq": 4,
        "added": [],
        "removed": [],
        "changed": [],
    }
    assert diff(auditor_api, item, 3, 3)["added"] == []


def test_the_diff_of_a_vertex_move_names_the_vertex_and_of_a_shape_move_the_offset(
    session: SimpleNamespace, item: Any, annotator: Any, auditor_api: Any
) -> None:
    vertex = diff(auditor_api, item, 6, 7)["changed"]
    shape = diff(auditor_api, item, 8, 9)["changed"]

    assert len(vertex) == 1
    assert vertex[0]["id"] == session.a
    assert vertex[0]["changes"] == ["points"]
    assert vertex[0]["moved_vertices"] == [2]
    assert "moved_by" not in vertex[0]
    assert (vertex[0]["before"]["points"][2], vertex[0]["after"]["points"][2]) == ([40.0, 40.0], [45.0, 45.0])
    assert vertex[0]["after"]["actor"] == annotator.pk  # bob moved it; ann drew it
    assert len(shape) == 1
    assert (shape[0]["changes"], shape[0]["moved_vertices"], shape[0]["moved_by"]) == (
        ["points"],
        [0, 1, 2, 3],
        [5.0, 2.5],
    )


def test_the_diff_of_a_relabel_a_reset_and_a_discard(
    session: SimpleNamespace, item: Any, labels: dict[str, Any], auditor_api: Any
) -> None:
    relabeled = diff(auditor_api, item, 9, 10)["changed"]
    reset = diff(auditor_api, item, 14, 15)["changed"]
    since_save = diff(auditor_api, item, 8, 16)

    assert [(c["id"], c["changes"]) for c in relabeled] == [(session.a, ["label_class_id"])]
    assert (relabeled[0]["before"]["label_class_id"], relabeled[0]["after"]["label_class_id"]) == (
        labels["cat"].pk,
        labels["dog"].pk,
    )
    assert "moved_vertices" not in relabeled[0]
    # The reset takes A back to its geometry at the save (seq 8), undoing the move by (5, 2.5).
    assert [(c["id"], c["changes"], c["moved_by"]) for c in reset] == [(session.a, ["points"], [-5.0, -2.5])]
    assert reset[0]["after"]["points"] == [[10.0, 10.0], [40.0, 10.0], [45.0, 45.0], [10.0, 40.0]]
    # Discarding goes back to the save: nothing differs from it.
    assert (since_save["added"], since_save["removed"], since_save["changed"]) == ([], [], [])


def test_the_diff_of_a_vertex_insert_and_of_grouping(
    item: Any, labels: dict[str, Any], annotator_api: Any, auditor_api: Any, send: Any, add_polygon: Any
) -> None:
    shape_id = add_polygon(annotator_api, item.pk, labels["cat"].pk).body["events"][0]["payload"]["shape_id"]
    send(annotator_api, item.pk, {"type": "insert_vertex", "shape_id": shape_id, "index": 1, "x": 15, "y": 5})
    send(annotator_api, item.pk, {"type": "group_shape", "shape_id": shape_id, "group_id": "person-1"})

    inserted = diff(auditor_api, item, 1, 2)["changed"][0]
    grouped = diff(auditor_api, item, 2, 3)["changed"][0]

    assert inserted["changes"] == ["points"]
    assert "moved_vertices" not in inserted and "moved_by" not in inserted  # the vertex count changed
    assert len(inserted["after"]["points"]) == 5
    assert grouped["changes"] == ["group_id"]
    assert "group_id" not in grouped["before"]
    assert grouped["after"]["group_id"] == "person-1"


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from_seq": 0, "to_seq": 18}, "to_seq 18"),
        ({"from_seq": 99, "to_seq": 1}, "from_seq 99"),
        ({"from_seq": -1, "to_seq": 1}, "from_seq"),
        ({"from_seq": 1}, "to_seq"),
        ({"from_seq": "one", "to_seq": 2}, "from_seq"),
    ],
)
def test_a_diff_outside_the_stream_or_malformed_is_refused(
    session: SimpleNamespace, item: Any, auditor_api: Any, query: dict[str, Any], field: str
) -> None:
    response = auditor_api.get(f"/api/items/{item.pk}/diff/", query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert field in response.json()["message"]


# Activity -----------------------------------------------------------------------------------------


def test_the_activity_of_a_job_counts_per_person_and_per_day(
    session: SimpleNamespace,
    clock: Clock,
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    manager: Any,
    auditor_api: Any,
    add_polygon: Any,
    send: Any,
    client_for: Any,
) -> None:
    bird = items[0]  # another image of the job, labeled by bob the next day
    clock.jump_to(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))
    add_polygon(session.bob, bird.pk, labels["cat"].pk, points=square(5, 5, 10))
    send(session.bob, bird.pk, {"type": "save"})
    other = job_create(name="Other job", dataset=job.dataset, created_by=manager, label_classes=LABEL_CLASSES)
    job_member_set(job=other, user=annotator2, role="annotator")
    other_item = other.items.first()
    add_polygon(session.bob, other_item.pk, other.label_classes.first().pk)  # not this job's

    activity = get_json(auditor_api, f"/api/jobs/{job.pk}/activity/")

    assert activity["events"] == 19
    assert activity["actors"] == [
        {
            "actor": annotator.pk,
            "actor_name": "ann_annotator",
            "events": 13,
            "shapes_drawn": 1,
            "saves": 1,
            "items_touched": 1,
            "first_at": "2026-03-01T09:00:00.000000Z",
            "last_at": "2026-03-01T09:16:00.000000Z",
        },
        {
            "actor": annotator2.pk,
            "actor_name": "bob_annotator",
            "events": 6,
            "shapes_drawn": 2,
            "saves": 1,
            "items_touched": 2,
            "first_at": "2026-03-01T09:05:00.000000Z",
            "last_at": "2026-03-02T14:31:00.000000Z",
        },
    ]
    assert activity["days"] == [{"date": "2026-03-01", "events": 17}, {"date": "2026-03-02", "events": 2}]


def test_the_activity_can_be_limited_to_a_time_window(
    session: SimpleNamespace, job: Any, annotator2: Any, auditor_api: Any
) -> None:
    activity = get_json(
        auditor_api, f"/api/jobs/{job.pk}/activity/", since=stamp(at(10)), until=stamp(at(12))
    )

    assert (activity["since"], activity["until"]) == (store.iso(at(10)), store.iso(at(12)))
    assert activity["events"] == 3
    assert [(a["actor_name"], a["events"]) for a in activity["actors"]] == [
        ("bob_annotator", 2),
        ("ann_annotator", 1),
    ]
    assert activity["days"] == [{"date": "2026-03-01", "events": 3}]


def test_the_activity_of_a_job_without_events_is_empty(job: Any, auditor_api: Any) -> None:
    activity = get_json(auditor_api, f"/api/jobs/{job.pk}/activity/")

    assert (activity["events"], activity["actors"], activity["days"]) == (0, [], [])


# Integrity ----------------------------------------------------------------------------------------


def integrity(client: Any, kind: str, pk: int) -> dict[str, Any]:
    return get_json(client, f"/api/{kind}/{pk}/integrity/")


def test_an_untouched_log_is_intact(session: SimpleNamespace, job: Any, item: Any, auditor_api: Any) -> None:
    assert integrity(auditor_api, "items", item.pk) == {
        "ok": True,
        "items": 1,
        "events": 17,
        "problems": [],
        "problems_total": 0,
    }
    assert integrity(auditor_api, "jobs", job.pk) == {
        "ok": True,
        "items": 3,
        "events": 17,
        "problems": [],
        "problems_total": 0,
    }


@pytest.mark.parametrize(
    "column",
    ["payload", "actor_id", "type", "created_at", "command_id", "schema_version", "hash"],
)
def test_an_event_altered_in_the_database_is_flagged_by_its_seq(
    session: SimpleNamespace, job: Any, item: Any, auditor: Any, auditor_api: Any, column: str
) -> None:
    row = StoredEvent.objects.get(item=item, seq=7)
    altered = {
        "payload": {**row.payload, "x": 46.0},
        "actor_id": auditor.pk,
        "type": "vertex_inserted",
        "created_at": row.created_at + timedelta(microseconds=1),
        "command_id": "forged",
        "schema_version": 2,
        "hash": "f" * 64,
    }[column]
    StoredEvent.objects.filter(pk=row.pk).update(**{column: altered})  # tampering, as only a test may

    for kind, pk in (("items", item.pk), ("jobs", job.pk)):
        report = integrity(auditor_api, kind, pk)
        assert report["ok"] is False
        flagged = [(p["item_id"], p["seq"]) for p in report["problems"]]
        # A forged hash also breaks the next link, which was made from the true one.
        assert flagged == ([(item.pk, 7), (item.pk, 8)] if column == "hash" else [(item.pk, 7)]), kind
        assert report["problems"][0]["problem"] == "hash mismatch: the event was altered"
        assert report["problems_total"] == len(flagged)


@pytest.mark.parametrize("batch", [1, 3, 5000])
def test_the_log_is_read_the_same_in_any_batch_size(
    two_items_labeled: Any, job: Any, item: Any, batch: int
) -> None:
    heads = list(job.items.order_by("id").values_list("id", "last_seq"))
    StoredEvent.objects.filter(item=item, seq=5).update(payload={"shape_id": "x", "label_class_id": 1})

    rows = list(store.log_rows(heads, batch))
    report = store.chains_verify(heads, batch)

    assert [(r[0], r[1]) for r in rows] == sorted(StoredEvent.objects.values_list("item_id", "seq"))
    assert rows == list(store.log_rows([(item_id, None) for item_id, _ in heads]))
    assert (report.items, report.events) == (3, 19)
    assert [(p["item_id"], p["seq"]) for p in report.problems] == [(item.pk, 5)]


def test_a_deleted_last_event_is_flagged_as_missing(
    session: SimpleNamespace, job: Any, item: Any, auditor_api: Any
) -> None:
    StoredEvent.objects.filter(item=item, seq=17).delete()  # tampering, as only a test may

    for kind, pk in (("items", item.pk), ("jobs", job.pk)):
        report = integrity(auditor_api, kind, pk)
        assert report["ok"] is False
        assert report["problems"] == [
            {"item_id": item.pk, "seq": 17, "problem": "missing: the item is at seq 17"}
        ], kind
        assert report["events"] == 16


def test_a_deleted_event_in_the_middle_is_flagged_where_the_chain_breaks(
    session: SimpleNamespace, item: Any, auditor_api: Any
) -> None:
    StoredEvent.objects.filter(item=item, seq=9).delete()  # tampering, as only a test may

    report = integrity(auditor_api, "items", item.pk)

    assert [(p["seq"], p["problem"]) for p in report["problems"]] == [
        (10, "gap: expected seq 9"),
        (10, "hash mismatch: the event was altered"),
    ]


def test_the_job_integrity_covers_images_deleted_from_the_job(
    session: SimpleNamespace, job: Any, item: Any, manager_api: Any, auditor_api: Any
) -> None:
    assert manager_api.post("/api/items/delete/", {"item_ids": [item.pk]}, format="json").status_code == 200
    StoredEvent.objects.filter(item=item, seq=3).update(payload={"shape_id": session.a, "x": 1.0, "y": 1.0})

    report = integrity(auditor_api, "jobs", job.pk)

    assert [(p["item_id"], p["seq"]) for p in report["problems"]] == [(item.pk, 3)]


# The log as JSON Lines ----------------------------------------------------------------------------


def log_bytes(client: Any, url: str, **headers: Any) -> bytes:
    response = client.get(url, **headers)
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/x-ndjson"
    assert response.streaming
    return b"".join(response.streaming_content)


def verify_log(path: Path) -> subprocess.CompletedProcess[str]:
    """Run docs/verify_log.py as an auditor would: a plain interpreter, nothing of polylog importable."""
    return subprocess.run(
        [sys.executable, "-I", str(VERIFY_LOG), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=path.parent,
    )


@pytest.fixture
def two_items_labeled(
    session: SimpleNamespace, items: list[Any], labels: dict[str, Any], add_polygon: Any
) -> Any:
    bird = items[0]
    add_polygon(session.bob, bird.pk, labels["cat"].pk, points=square(5, 5, 10))
    add_polygon(session.bob, bird.pk, labels["dog"].pk, points=square(30, 5, 10))
    return bird


def test_the_job_log_has_one_line_per_event_in_item_and_seq_order(
    two_items_labeled: Any, job: Any, item: Any, auditor_api: Any
) -> None:
    response = auditor_api.get(f"/api/jobs/{job.pk}/log/")
    lines = [json.loads(line) for line in log_bytes(auditor_api, f"/api/jobs/{job.pk}/log/").splitlines()]

    assert f'filename="job-{job.pk}-log.jsonl"' in response["Content-Disposition"]
    assert len(lines) == 19
    assert [(e["item_id"], e["seq"]) for e in lines] == sorted(
        [(item.pk, seq) for seq in range(1, 18)] + [(two_items_labeled.pk, 1), (two_items_labeled.pk, 2)]
    )
    stored = {(e.item_id, e.seq): e for e in StoredEvent.objects.filter(item__job=job)}
    for line in lines:
        assert list(line) == LOG_FIELDS
        row = stored[line["item_id"], line["seq"]]
        assert line["created_at"] == store.iso(row.created_at)
        assert (line["type"], line["payload"], line["actor"], line["command_id"], line["hash"]) == (
            row.type,
            row.payload,
            row.actor_id,
            row.command_id,
            row.hash,
        )


def test_the_item_log_holds_only_that_item_and_ignores_what_the_client_accepts(
    two_items_labeled: Any, item: Any, auditor_api: Any
) -> None:
    plain = log_bytes(auditor_api, f"/api/items/{item.pk}/log/")
    asked_for = log_bytes(auditor_api, f"/api/items/{item.pk}/log/", HTTP_ACCEPT="application/x-ndjson")

    lines = [json.loads(line) for line in plain.splitlines()]
    assert [(e["item_id"], e["seq"]) for e in lines] == [(item.pk, seq) for seq in range(1, 18)]
    assert asked_for == plain


def test_an_exported_job_log_verifies_and_fails_once_a_payload_byte_changes(
    two_items_labeled: Any, job: Any, item: Any, auditor_api: Any, tmp_path: Path
) -> None:
    exported = log_bytes(auditor_api, f"/api/jobs/{job.pk}/log/")
    path = tmp_path / "job.jsonl"
    path.write_bytes(exported)

    intact = verify_log(path)

    assert intact.returncode == 0, intact.stderr
    assert "OK 19 events in 2 items verified" in intact.stdout

    marker = b'"x":45.0'  # the vertex bob moved at seq 7
    assert exported.count(marker) == 1
    path.write_bytes(exported.replace(marker, b'"x":46.0'))

    altered = verify_log(path)

    assert altered.returncode == 1
    assert f"item {item.pk} seq 7: hash mismatch" in altered.stderr


def test_the_verification_script_printed_in_the_docs_works_too(
    two_items_labeled: Any, job: Any, item: Any, auditor_api: Any, tmp_path: Path
) -> None:
    docs = (ROOT / "docs" / "audit.md").read_text()
    script = tmp_path / "verify_from_docs.py"
    script.write_text(docs.split("```python\n", 1)[1].split("```", 1)[0])
    exported = log_bytes(auditor_api, f"/api/jobs/{job.pk}/log/")
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_bytes(exported)
    bad.write_bytes(exported.replace(b'"x":45.0', b'"x":45.5'))

    def run(log: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", str(script), str(log)], capture_output=True, text=True, timeout=60
        )

    assert run(good).returncode == 0
    failed = run(bad)
    assert failed.returncode == 1
    assert f"item {item.pk} seq 7" in failed.stderr


def test_a_log_exported_after_tampering_fails_verification_at_that_seq(
    session: SimpleNamespace, item: Any, auditor_api: Any, tmp_path: Path
) -> None:
    row = StoredEvent.objects.get(item=item, seq=12)
    StoredEvent.objects.filter(pk=row.pk).update(payload={**row.payload, "target_seq": 10})
    path = tmp_path / "item.jsonl"
    path.write_bytes(log_bytes(auditor_api, f"/api/items/{item.pk}/log/"))

    result = verify_log(path)

    assert result.returncode == 1
    assert f"item {item.pk} seq 12: hash mismatch" in result.stderr


def test_a_log_with_an_event_left_out_fails_verification(
    session: SimpleNamespace, item: Any, auditor_api: Any, tmp_path: Path
) -> None:
    lines = log_bytes(auditor_api, f"/api/items/{item.pk}/log/").splitlines(keepends=True)
    path = tmp_path / "item.jsonl"
    path.write_bytes(b"".join(lines[:4] + lines[5:]))

    result = verify_log(path)

    assert result.returncode == 1
    assert f"item {item.pk} seq 6: expected seq 5" in result.stderr


# Who may read, and nobody writes ------------------------------------------------------------------


def audit_urls(job: Any, item: Any) -> list[str]:
    return [
        f"/api/items/{item.pk}/timeline/",
        f"/api/items/{item.pk}/diff/?from_seq=0&to_seq=17",
        f"/api/jobs/{job.pk}/activity/",
        f"/api/items/{item.pk}/integrity/",
        f"/api/jobs/{job.pk}/integrity/",
        f"/api/items/{item.pk}/log/",
        f"/api/jobs/{job.pk}/log/",
    ]


def test_every_member_auditors_included_reads_the_audit(
    session: SimpleNamespace, job: Any, item: Any, auditor_api: Any, annotator_api: Any, manager_api: Any
) -> None:
    for client in (auditor_api, annotator_api, manager_api):
        for url in audit_urls(job, item):
            response = client.get(url)
            assert response.status_code == 200, url
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert body, url


def test_a_non_member_is_told_the_item_or_job_does_not_exist(
    session: SimpleNamespace, job: Any, item: Any, outsider_api: Any, client_for: Any
) -> None:
    for url in audit_urls(job, item):
        response = outsider_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
        assert client_for(None).get(url).status_code == 401, url


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_writes_through_the_audit_endpoints(
    session: SimpleNamespace, job: Any, item: Any, manager_api: Any, method: str
) -> None:
    """Commands go through items/<id>/commands/ only; an auditor's command there is refused with 403
    (tests/integration/test_api_commands.py::test_an_auditor_may_not_send_commands, and over the websocket
    tests/integration/test_ws_auth.py::test_an_auditor_may_watch_but_its_commands_are_rejected)."""
    for url in audit_urls(job, item):
        response = getattr(manager_api, method)(url, {"type": "save"}, format="json")
        assert response.status_code == 405, url
        assert response.json()["code"] == "method_not_allowed"
    assert StoredEvent.objects.filter(item__job=job).count() == 17


# A real labeling session over the websocket, replayed seq by seq ----------------------------------


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@database_sync_to_async
def states_over_rest(client: Any, item_id: int, last_seq: int) -> list[dict[str, Any]]:
    return [get_json(client, f"/api/items/{item_id}/state/", at_seq=seq) for seq in range(last_seq + 1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_state_at_every_seq_of_a_websocket_session_is_the_replay_of_events_up_to_it(
    sockets: Sockets,
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    manager: Any,
    auditor: Any,
    auditor_api: Any,
    settings: Any,
) -> None:
    """Three people label one image over their websockets (drawing vertex by vertex, undo, redo, reset,
    save, discard) while an auditor watches; then the state the server rebuilds at each seq equals the
    state the domain builds from the events 1..seq the auditor received."""
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 4}  # states come from snapshots too
    watcher = await sockets.item(auditor, item.pk)
    ann = await sockets.item(annotator, item.pk)
    bob = await sockets.item(annotator2, item.pk)
    mia = await sockets.item(manager, item.pk)
    a, b, c, d = new_id(), new_id(), new_id(), new_id()
    cat, dog = labels["cat"].pk, labels["dog"].pk
    script = [
        (ann, {"type": "add_vertex", "shape_id": a, "x": 10, "y": 10}),
        (bob, {"type": "add_vertex", "shape_id": b, "x": 60, "y": 10}),
        (ann, {"type": "add_vertex", "shape_id": a, "x": 30, "y": 10}),
        (bob, {"type": "add_vertex", "shape_id": b, "x": 90, "y": 10}),
        (ann, {"type": "add_vertex", "shape_id": a, "x": 30, "y": 30}),
        (bob, {"type": "add_vertex", "shape_id": b, "x": 90, "y": 30}),
        (ann, {"type": "close_polygon", "shape_id": a, "label_class_id": cat}),
        (ann, {"type": "undo"}),  # back to a draft
        (ann, {"type": "redo"}),
        (bob, {"type": "close_polygon", "shape_id": b, "label_class_id": dog}),
        (mia, {"type": "add_polygon", "shape_id": c, "label_class_id": cat, "points": square(20, 45, 20)}),
        (mia, {"type": "move_vertex", "shape_id": a, "index": 1, "x": 35, "y": 12}),
        (bob, {"type": "reset_shape", "shape_id": a}),  # back to its geometry at closing
        (mia, {"type": "save"}),
        (bob, {"type": "move_shape", "shape_id": b, "dx": -5, "dy": 3}),
        (ann, {"type": "add_vertex", "shape_id": d, "x": 5, "y": 70}),
        (ann, {"type": "discard_changes"}),  # B back to the save, ann's draft gone
        (bob, {"type": "undo"}),  # B was changed by ann's discard since: left as it is
        (mia, {"type": "delete_shape", "shape_id": c}),
        (mia, {"type": "undo"}),
        (mia, {"type": "redo"}),
        (bob, {"type": "relabel_shape", "shape_id": a, "label_class_id": dog}),
        (bob, {"type": "save"}),
        (ann, {"type": "mark_hard_example"}),
    ]

    for seq, (peer, command) in enumerate(script, start=1):
        answer = await peer.command(command, new_id())
        assert (answer["type"], answer.get("seq")) == ("ack", seq), (command, answer)
    received = await watcher.events(len(script))
    served = await states_over_rest(auditor_api, item.pk, len(script))

    assert [event["seq"] for event in received] == list(range(1, len(script) + 1))
    assert len({event["actor"] for event in received}) == 3
    assert {event["type"] for event in received} >= {
        "vertex_added",
        "polygon_closed",
        "polygon_added",
        "vertex_moved",
        "shape_moved",
        "shape_reset",
        "shape_deleted",
        "undone",
        "redone",
        "saved",
        "changes_discarded",
    }
    assert await stored_events(item.pk) == [{k: e[k] for k in WIRE_FIELDS} for e in received]
    for seq in range(len(script) + 1):
        assert served[seq] == replay_received(received[:seq], item), f"at seq {seq}"
    last = served[-1]
    assert (last["seq"], last["saved_seq"], last["hard_example"]) == (24, 23, True)
    assert {s["id"]: s["label_class_id"] for s in last["shapes"]} == {a: dog, b: dog}
    assert last["drafts"] == []


# Under ASGI the log is streamed, not read whole first ----------------------------------------------


@database_sync_to_async
def polygons_added(item: Any, actor: Any, label_class_id: int, count: int) -> None:
    for n in range(count):
        command = AddPolygon(
            shape_id=new_id(),
            label_class_id=label_class_id,
            points=tuple(map(tuple, square(5 + 20 * n, 5, 10))),
        )
        services.item_command_handle(item_id=item.pk, actor_id=actor.pk, command=command)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_under_asgi_the_first_lines_of_the_log_leave_before_the_rest_is_read(
    item: Any, labels: dict[str, Any], annotator: Any, auditor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows after the first are held back until the test has received the first piece of the body:
    a server that read the whole log before sending (Django does that with a synchronous iterator under
    ASGI) would send nothing in time."""
    await polygons_added(item, annotator, labels["cat"].pk, 3)
    token = await token_for(auditor)
    release = threading.Event()
    read_all = store.log_rows

    def held(heads: Any, batch: int = 5000) -> Any:
        rows = read_all(heads, batch)
        yield next(rows)
        release.wait(10)
        yield from rows

    monkeypatch.setattr(store, "log_rows", held)
    monkeypatch.setattr(audit, "LOG_CHUNK_BYTES", 1)  # a piece per line
    # The request runs in a thread of its own; its connection is closed when the request ends, rather
    # than kept (CONN_MAX_AGE) in a thread nobody will use again, which would block dropping the test
    # database on PostgreSQL.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    request = HttpCommunicator(
        application,
        "GET",
        f"/api/items/{item.pk}/log/",
        headers=[(b"host", b"testserver"), (b"authorization", f"Token {token}".encode())],
    )
    try:
        await request.send_input({"type": "http.request", "body": b""})
        start = await request.receive_output(5)
        first = await request.receive_output(5)
        release.set()
        body, more = first["body"], first.get("more_body", False)
        while more:
            piece = await request.receive_output(5)
            body, more = body + piece.get("body", b""), piece.get("more_body", False)
    finally:
        release.set()
        await request.wait(5)
        await database_sync_to_async(connections.close_all)()

    assert start["status"] == 200
    assert dict((k.lower(), v) for k, v in start["headers"])[b"content-type"] == b"application/x-ndjson"
    assert json.loads(first["body"])["seq"] == 1
    assert [json.loads(line)["seq"] for line in body.splitlines()] == [1, 2, 3]


def test_the_schema_documents_the_audit_endpoints(client_for: Any) -> None:
    schema = get_json(client_for(None), "/api/schema/", format="json")
    paths = schema["paths"]

    timeline_parameters = {p["name"] for p in paths["/api/items/{item_id}/timeline/"]["get"]["parameters"]}
    assert {"actor", "type", "since", "until", "page", "page_size"} <= timeline_parameters
    diff_parameters = {p["name"] for p in paths["/api/items/{item_id}/diff/"]["get"]["parameters"]}
    assert {"from_seq", "to_seq"} <= diff_parameters
    for path in ("/api/items/{item_id}/log/", "/api/jobs/{job_id}/log/"):
        assert "application/x-ndjson" in paths[path]["get"]["responses"]["200"]["content"], path
    for path in (
        "/api/jobs/{job_id}/activity/",
        "/api/items/{item_id}/integrity/",
        "/api/jobs/{job_id}/integrity/",
    ):
        assert set(paths[path]) == {"get"}, path
