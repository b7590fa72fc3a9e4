"""GET /api/items/<id>/state/ (now, at a seq, at a time) and GET /api/items/<id>/events/?after=, checked
against a replay of the stored log with the pure domain."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from apps.labeling.domain import state_from_dict
from apps.labeling.models import Snapshot
from tests.conftest import new_id, replay_log, replay_view, square

pytestmark = pytest.mark.django_db

STATE_FIELDS = {"item_id", "seq", "saved_seq", "image", "hard_example", "shapes", "drafts"}
EVENT_FIELDS = {"seq", "type", "payload", "actor", "created_at"}


def state_url(item: Any) -> str:
    return f"/api/items/{item.pk}/state/"


def events_url(item: Any) -> str:
    return f"/api/items/{item.pk}/events/"


def get_state(client: Any, item: Any, **query: Any) -> dict[str, Any]:
    response = client.get(state_url(item), query)
    assert response.status_code == 200, response.json()
    return response.json()


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse(stamp_: str) -> datetime:
    return datetime.fromisoformat(stamp_.replace("Z", "+00:00"))


@pytest.fixture
def history(
    item: Any, labels: dict[str, Any], annotator_api: Any, annotator2: Any, client_for: Any, send: Any
) -> list[str]:
    """Ten commands of every kind from two people; returns the shape ids they used."""
    other = client_for(annotator2)
    first, second, draft = new_id(), new_id(), new_id()
    commands = [
        (
            annotator_api,
            {
                "type": "add_polygon",
                "shape_id": first,
                "label_class_id": labels["cat"].pk,
                "points": square(10, 10, 20),
            },
        ),
        (other, {"type": "add_vertex", "shape_id": draft, "x": 60, "y": 60}),
        (annotator_api, {"type": "move_shape", "shape_id": first, "dx": 5, "dy": 2.5}),
        (other, {"type": "add_vertex", "shape_id": draft, "x": 80, "y": 60}),
        (annotator_api, {"type": "save"}),
        (
            annotator_api,
            {
                "type": "add_polygon",
                "shape_id": second,
                "label_class_id": labels["dog"].pk,
                "points": square(50, 10, 15),
            },
        ),
        (other, {"type": "relabel_shape", "shape_id": first, "label_class_id": labels["dog"].pk}),
        (annotator_api, {"type": "mark_hard_example"}),
        (annotator_api, {"type": "move_vertex", "shape_id": second, "index": 0, "x": 45, "y": 5}),
        (annotator_api, {"type": "undo"}),
    ]
    for n, (client, command) in enumerate(commands, start=1):
        sent = send(client, item.pk, command)
        assert (sent.status, sent.body["seq"]) == (201, n), sent.body
    return [first, second, draft]


# State --------------------------------------------------------------------------------------------


def test_the_state_of_a_new_item(item: Any, auditor_api: Any) -> None:
    state = get_state(auditor_api, item)

    assert state == {
        "item_id": item.pk,
        "seq": 0,
        "saved_seq": 0,
        "image": {"width": 100, "height": 80},
        "hard_example": False,
        "next_number": 1,
        "shapes": [],
        "drafts": [],
        "pending": [],
        "review": {"status": "none", "reason": None, "actor": None, "seq": None},  # issue 24
        "issues": [],
    }


def test_the_state_has_the_contract_fields_and_equals_the_replay(
    item: Any, history: list[str], labels: dict[str, Any], annotator2: Any, auditor_api: Any
) -> None:
    first, second, draft = history

    state = get_state(auditor_api, item)

    assert set(state) >= STATE_FIELDS
    assert state == replay_view(item)
    assert (state["seq"], state["saved_seq"], state["hard_example"]) == (10, 5, True)
    shapes = {s["id"]: s for s in state["shapes"]}
    assert set(shapes) == {first, second}
    assert shapes[first] == {
        "id": first,
        "number": 1,
        "label_class_id": labels["dog"].pk,
        "points": [[15.0, 12.5], [35.0, 12.5], [35.0, 32.5], [15.0, 32.5]],
    }
    assert shapes[second]["points"][0] == [50.0, 10.0]  # the vertex move was undone
    assert state["drafts"] == [
        {"id": draft, "number": 2, "actor": annotator2.pk, "points": [[60.0, 60.0], [80.0, 60.0]]}
    ]


def test_the_state_at_every_seq_equals_the_replay_of_events_up_to_it(
    item: Any, history: list[str], auditor_api: Any
) -> None:
    for seq in range(0, 11):
        state = get_state(auditor_api, item, at_seq=seq)
        assert state["seq"] == seq
        assert state == replay_view(item, seq), f"at seq {seq}"


def test_the_state_at_the_last_seq_is_the_current_state(
    item: Any, history: list[str], auditor_api: Any
) -> None:
    assert get_state(auditor_api, item, at_seq=10) == get_state(auditor_api, item)


def test_a_seq_past_the_end_is_refused(item: Any, history: list[str], auditor_api: Any) -> None:
    response = auditor_api.get(state_url(item), {"at_seq": 11})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert "11" in response.json()["message"]


@pytest.mark.parametrize("query", [{"at_seq": -1}, {"at_seq": "two"}, {"at_time": "yesterday"}])
def test_bad_state_queries_are_refused(item: Any, auditor_api: Any, query: dict[str, Any]) -> None:
    response = auditor_api.get(state_url(item), query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def last_seq_at(events: list[dict[str, Any]], moment: datetime, *, inclusive: bool = True) -> int:
    """The seq of the last event at (or strictly before) `moment`, from the events' own times."""
    return max(
        [0]
        + [
            e["seq"]
            for e in events
            if (parse(e["created_at"]) <= moment if inclusive else parse(e["created_at"]) < moment)
        ]
    )


def test_the_state_at_a_time_is_as_of_the_last_event_at_or_before_it(
    item: Any, history: list[str], auditor_api: Any
) -> None:
    events = auditor_api.get(events_url(item)).json()["results"]

    for event in events:
        moment = parse(event["created_at"])
        # At the exact time of an event, it counts; a microsecond before, only the earlier ones do.
        at = get_state(auditor_api, item, at_time=stamp(moment))
        assert at["seq"] == last_seq_at(events, moment) >= event["seq"]
        assert at == replay_view(item, at["seq"])
        before = get_state(auditor_api, item, at_time=stamp(moment - timedelta(microseconds=1)))
        assert before["seq"] == last_seq_at(events, moment, inclusive=False) < event["seq"]


def test_the_state_before_the_first_event_is_empty_and_after_the_last_is_current(
    item: Any, history: list[str], auditor_api: Any
) -> None:
    first = parse(auditor_api.get(events_url(item)).json()["results"][0]["created_at"])

    early = get_state(auditor_api, item, at_time=stamp(first - timedelta(days=1)))
    late = get_state(auditor_api, item, at_time=stamp(first + timedelta(days=1)))

    assert (early["seq"], early["shapes"], early["drafts"]) == (0, [], [])
    assert late == get_state(auditor_api, item)


def test_the_state_at_a_time_accepts_an_offset(item: Any, history: list[str], auditor_api: Any) -> None:
    events = auditor_api.get(events_url(item)).json()["results"]
    third = parse(events[2]["created_at"])
    in_paris = third.astimezone(timezone(timedelta(hours=2)))

    response = auditor_api.get(state_url(item), {"at_time": in_paris.isoformat()})

    assert response.status_code == 200
    assert response.json()["seq"] == last_seq_at(events, third) >= 3


def test_the_live_state_served_from_the_cache_equals_the_replay(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Commits run their on-commit hooks here, so the process-local state cache is filled and used."""
    from apps.labeling.store import state_cache

    shape_id = new_id()
    with django_capture_on_commit_callbacks(execute=True):
        send(
            annotator_api,
            item.pk,
            {
                "type": "add_polygon",
                "shape_id": shape_id,
                "label_class_id": labels["cat"].pk,
                "points": square(5, 5, 30),
            },
        )
        send(
            annotator_api,
            item.pk,
            {"type": "move_vertex", "shape_id": shape_id, "index": 2, "x": 40, "y": 50},
        )
        send(annotator_api, item.pk, {"type": "save"})
        send(
            annotator_api,
            item.pk,
            {"type": "insert_vertex", "shape_id": shape_id, "index": 1, "x": 20, "y": 1},
        )
    assert state_cache.get(item.pk, 4) is not None

    state = get_state(annotator_api, item)

    assert state == replay_view(item)
    assert state["shapes"][0]["points"] == [[5.0, 5.0], [20.0, 1.0], [35.0, 5.0], [40.0, 50.0], [5.0, 35.0]]


# Events -------------------------------------------------------------------------------------------


def test_events_after_a_seq_are_exactly_the_later_ones_in_order(
    item: Any, history: list[str], annotator: Any, annotator2: Any, auditor_api: Any
) -> None:
    response = auditor_api.get(events_url(item), {"after": 6})

    assert response.status_code == 200
    page = response.json()
    assert [e["seq"] for e in page["results"]] == [7, 8, 9, 10]
    assert page["last_seq"] == 10
    assert page["next_after"] is None
    for event in page["results"]:
        assert set(event) >= EVENT_FIELDS
    assert [e["type"] for e in page["results"]] == [
        "shape_relabeled",
        "hard_example_marked",
        "vertex_moved",
        "undone",
    ]
    assert [e["actor"] for e in page["results"]] == [annotator2.pk, annotator.pk, annotator.pk, annotator.pk]
    assert page["results"][3]["payload"]["target_seq"] == 9


def test_all_events_by_default_and_none_after_the_last(
    item: Any, history: list[str], auditor_api: Any
) -> None:
    assert [e["seq"] for e in auditor_api.get(events_url(item)).json()["results"]] == list(range(1, 11))
    assert auditor_api.get(events_url(item), {"after": 10}).json()["results"] == []
    assert auditor_api.get(events_url(item), {"after": 50}).json()["results"] == []


def test_events_are_what_the_commands_answered(
    item: Any, labels: dict[str, Any], annotator_api: Any, auditor_api: Any, send: Any
) -> None:
    answers = [
        send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": new_id(), "x": 1.25, "y": 2}).body[
            "events"
        ][0],
        send(annotator_api, item.pk, {"type": "mark_hard_example"}).body["events"][0],
    ]

    listed = auditor_api.get(events_url(item)).json()["results"]

    assert [{k: e[k] for k in EVENT_FIELDS} for e in listed] == answers


def test_events_come_in_pages_with_a_cursor(item: Any, history: list[str], auditor_api: Any) -> None:
    first = auditor_api.get(events_url(item), {"limit": 4}).json()
    second = auditor_api.get(events_url(item), {"after": first["next_after"], "limit": 4}).json()
    third = auditor_api.get(events_url(item), {"after": second["next_after"], "limit": 4}).json()

    assert [e["seq"] for e in first["results"]] == [1, 2, 3, 4]
    assert first["next_after"] == 4
    assert [e["seq"] for e in second["results"]] == [5, 6, 7, 8]
    assert [e["seq"] for e in third["results"]] == [9, 10]
    assert third["next_after"] is None


@pytest.mark.parametrize("query", [{"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 100000}])
def test_bad_event_queries_are_refused(item: Any, auditor_api: Any, query: dict[str, Any]) -> None:
    response = auditor_api.get(events_url(item), query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


# Snapshots ----------------------------------------------------------------------------------------


def test_with_snapshots_every_3_events_every_seq_still_equals_a_full_replay(
    item: Any, labels: dict[str, Any], annotator_api: Any, auditor_api: Any, send: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 3}
    shape_ids = [new_id() for _ in range(4)]
    commands = [
        {
            "type": "add_polygon",
            "shape_id": shape_ids[0],
            "label_class_id": labels["cat"].pk,
            "points": square(5, 5, 10),
        },
        {
            "type": "add_polygon",
            "shape_id": shape_ids[1],
            "label_class_id": labels["dog"].pk,
            "points": square(30, 5, 10),
        },
        {"type": "move_shape", "shape_id": shape_ids[0], "dx": 1, "dy": 1},
        {"type": "save"},
        {"type": "add_vertex", "shape_id": shape_ids[2], "x": 60, "y": 60},
        {"type": "delete_shape", "shape_id": shape_ids[1]},
        {"type": "undo"},
        {"type": "redo"},
        {"type": "discard_changes"},
        {
            "type": "add_polygon",
            "shape_id": shape_ids[3],
            "label_class_id": labels["cat"].pk,
            "points": square(70, 50, 10),
        },
    ]
    for n, command in enumerate(commands, start=1):
        sent = send(annotator_api, item.pk, command)
        assert (sent.status, sent.body["seq"]) == (201, n), (command, sent.body)

    snapshots = Snapshot.objects.filter(item=item).order_by("seq")
    assert [s.seq for s in snapshots] == [3, 4, 6, 9]  # every 3 events, and the save (store.snapshot_due)
    for snapshot in snapshots:
        assert state_from_dict(snapshot.state) == replay_log(item, snapshot.seq)
    for seq in range(0, 11):
        assert get_state(auditor_api, item, at_seq=seq) == replay_view(item, seq), f"at seq {seq}"
    assert get_state(auditor_api, item) == replay_view(item)


def test_the_state_loaded_from_a_snapshot_continues_correctly(
    item: Any, labels: dict[str, Any], annotator_api: Any, send: Any, settings: Any
) -> None:
    """After snapshots, a command decided on a state rebuilt from one (empty cache) lands right."""
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 2}
    shape_id = new_id()
    send(
        annotator_api,
        item.pk,
        {
            "type": "add_polygon",
            "shape_id": shape_id,
            "label_class_id": labels["cat"].pk,
            "points": square(5, 5, 10),
        },
    )
    send(annotator_api, item.pk, {"type": "save"})
    send(annotator_api, item.pk, {"type": "move_shape", "shape_id": shape_id, "dx": 3, "dy": 0})

    reset = send(annotator_api, item.pk, {"type": "reset_shape", "shape_id": shape_id})

    assert (reset.status, reset.body["seq"]) == (201, 4)
    assert replay_view(item)["shapes"][0]["points"] == square(5, 5, 10)
    assert Snapshot.objects.filter(item=item).count() == 2


# Who may read -------------------------------------------------------------------------------------


def test_an_auditor_reads_state_and_events(item: Any, history: list[str], auditor_api: Any) -> None:
    assert auditor_api.get(state_url(item)).status_code == 200
    assert auditor_api.get(events_url(item)).status_code == 200


def test_a_non_member_is_told_the_item_does_not_exist(
    item: Any, history: list[str], outsider_api: Any
) -> None:
    for response in (outsider_api.get(state_url(item)), outsider_api.get(events_url(item))):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
