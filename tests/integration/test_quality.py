"""The quality report (GET /api/jobs/<id>/quality/ and its events list): every figure recounted from the raw
event table by a plain fold here, and the same numbers asked of the API (docs/review.md, Quality)."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.labeling.domain import event_from_record, evolve, initial_state
from apps.labeling.models import Item, Role, StoredEvent
from apps.labeling.services import job_member_set
from tests.conftest import new_id, square

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 23, 40, tzinfo=UTC)  # the session runs past midnight UTC


class Clock:
    """The commands' time, moved on by the test: the server stamps each command with timezone.now()."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("django.utils.timezone.now", clock)
    return clock


@pytest.fixture
def reviewer(make_user: Any, job: Any) -> Any:
    user = make_user("rita")
    job_member_set(job=job, user=user, role=Role.REVIEWER)
    return user


# The recount: a plain fold over the event table ------------------------------------------------------


def recount(job: Any, idle_gap: int) -> tuple[dict[int, Counter], dict[tuple[int, str], Counter], dict]:
    """(totals per person, figures per (person, day), throughput per day) from the stored events alone."""
    totals: dict[int, Counter] = defaultdict(Counter)
    daily: dict[tuple[int, str], Counter] = defaultdict(Counter)
    marks: dict[tuple[int, str], set[tuple[int, int]]] = defaultdict(set)
    throughput: dict[str, Counter] = defaultdict(Counter)
    times: dict[tuple[int, str], list[datetime]] = defaultdict(list)

    def credit(person: int, day: str, figure: str, event: Any, value: int = 1) -> None:
        totals[person][figure] += value
        daily[(person, day)][figure] += value
        marks[(person, figure)].add((event.item_id, event.seq))

    for item in Item.objects.filter(job=job).select_related("image"):
        state = initial_state(item.image.width, item.image.height)
        labeler, rejected = None, False
        for event in StoredEvent.objects.filter(item=item).order_by("seq"):
            day = event.created_at.astimezone(UTC).date().isoformat()
            who = event.actor_id
            state = evolve(state, event_from_record(event.type, event.schema_version, event.payload, who))
            totals[who]["events"] += 1
            daily[(who, day)]["events"] += 1
            times[(who, day)].append(event.created_at)
            if event.type == "saved":
                totals[who]["saves"] += 1
                daily[(who, day)]["saves"] += 1
                if rejected:
                    credit(labeler, day, "rework", event)
                rejected = False
                if state.saved and labeler != who:
                    credit(who, day, "labeled", event)
                labeler = who if state.saved else None
            elif event.type in ("review_accepted", "review_rejected"):
                verdict = event.type.removeprefix("review_")
                credit(who, day, f"reviews_{verdict}", event)
                throughput[day][verdict] += 1
                if labeler is not None:
                    credit(labeler, day, verdict, event)
                rejected = verdict == "rejected"
            elif event.type == "review_reopened":
                rejected = False
            elif event.type == "issue_opened" and labeler not in (None, who):
                credit(labeler, day, "issues_received", event)
            elif event.type in ("polygon_closed", "polygon_added"):
                vertices = len(state.shapes[event.payload["shape_id"]].points)
                credit(who, day, "shapes", event)
                totals[who]["vertices"] += vertices
                daily[(who, day)]["vertices"] += vertices
    # Active time: per person and UTC day, the gaps between their events in time order, each up to the cut.
    for (person, day), stamps in times.items():
        stamps.sort()
        active = sum(
            (b - a).total_seconds()
            for a, b in zip(stamps, stamps[1:], strict=False)
            if (b - a).total_seconds() <= idle_gap
        )
        totals[person]["active_seconds"] += active
        daily[(person, day)]["active_seconds"] += active
    return totals, daily, {"throughput": throughput, "marks": marks}


FIGURES = (
    "labeled",
    "accepted",
    "rejected",
    "issues_received",
    "rework",
    "shapes",
    "vertices",
    "reviews_accepted",
    "reviews_rejected",
    "saves",
    "events",
    "active_seconds",
)


# A session of two annotators and a reviewer ------------------------------------------------------------


def draw(send: Any, api: Any, item: Any, label: int, clock: Clock, x: float = 10) -> str:
    """Vertex by vertex (three commands), then the close: a polygon of three vertices."""
    shape = new_id()
    for dx, dy in ((0, 0), (20, 0), (20, 20)):
        clock.tick(20)
        assert (
            send(api, item.pk, {"type": "add_vertex", "shape_id": shape, "x": x + dx, "y": 10 + dy}).status
            == 201
        )
    clock.tick(20)
    assert (
        send(api, item.pk, {"type": "close_polygon", "shape_id": shape, "label_class_id": label}).status
        == 201
    )
    return shape


def command(send: Any, api: Any, item: Any, clock: Clock, seconds: float, body: dict[str, Any]) -> Any:
    clock.tick(seconds)
    sent = send(api, item.pk, body)
    assert sent.status == 201, sent.body
    return sent


@pytest.fixture
def session(
    items: list[Any],
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    reviewer: Any,
    client_for: Any,
    send: Any,
    clock: Clock,
) -> dict[str, Any]:
    """bird: ann draws (vertex by vertex) and saves; rita opens an issue and rejects; ann resolves, fixes,
    saves again (a rework round); rita accepts. cat: bob adds a pentagon and a square, saves; a one-hour
    pause; rita rejects it; bob saves again; rita accepts. dog: bob saves a square, then ann saves it
    again with one more (ann is its labeler now)."""
    bird, cat, dog = items
    ann, bob, rita = client_for(annotator), client_for(annotator2), client_for(reviewer)
    cat_label = labels["cat"].pk

    shape = draw(send, ann, bird, cat_label, clock)
    command(send, ann, bird, clock, 30, {"type": "save"})
    issue = new_id()
    command(
        send,
        rita,
        bird,
        clock,
        50,
        {"type": "open_issue", "issue_id": issue, "x": 12, "y": 12, "shape_id": shape, "text": "too loose"},
    )
    command(send, rita, bird, clock, 10, {"type": "reject_review", "reason": "the wing is cut"})
    command(send, ann, bird, clock, 100, {"type": "resolve_issue", "issue_id": issue})
    command(
        send, ann, bird, clock, 20, {"type": "move_vertex", "shape_id": shape, "index": 1, "x": 31, "y": 10}
    )
    command(send, ann, bird, clock, 15, {"type": "save"})
    command(send, rita, bird, clock, 40, {"type": "accept_review"})

    pentagon = [[10, 10], [40, 10], [50, 30], [30, 45], [5, 30]]
    command(
        send,
        bob,
        cat,
        clock,
        5,
        {"type": "add_polygon", "shape_id": new_id(), "label_class_id": cat_label, "points": pentagon},
    )
    command(
        send,
        bob,
        cat,
        clock,
        25,
        {
            "type": "add_polygon",
            "shape_id": new_id(),
            "label_class_id": cat_label,
            "points": square(60, 10, 10),
        },
    )
    command(send, bob, cat, clock, 35, {"type": "save"})
    clock.tick(3600)  # a pause: it adds to nobody's active time
    command(send, rita, cat, clock, 20, {"type": "reject_review", "reason": "one cat is a dog"})
    command(send, bob, cat, clock, 60, {"type": "save"})
    command(send, rita, cat, clock, 30, {"type": "accept_review"})

    command(
        send,
        bob,
        dog,
        clock,
        10,
        {
            "type": "add_polygon",
            "shape_id": new_id(),
            "label_class_id": cat_label,
            "points": square(5, 5, 10),
        },
    )
    command(send, bob, dog, clock, 10, {"type": "save"})
    draw(send, ann, dog, cat_label, clock, x=40)
    command(send, ann, dog, clock, 10, {"type": "save"})
    return {"ann": annotator, "bob": annotator2, "rita": reviewer}


def report(client: Any, job: Any) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job.pk}/quality/")
    assert response.status_code == 200, response.content
    return response.json()


def test_every_figure_is_the_recount_of_the_raw_events(
    job: Any, session: dict[str, Any], auditor_api: Any, settings: Any
) -> None:
    body = report(auditor_api, job)
    totals, daily, extra = recount(job, body["idle_gap_seconds"])

    people = {person["id"]: person for person in body["people"]}
    assert set(people) == set(totals)
    for person_id, counted in totals.items():
        for figure in FIGURES:
            assert people[person_id][figure] == pytest.approx(counted[figure]), (person_id, figure)
        days = {day["day"]: day for day in people[person_id]["days"]}
        assert set(days) == {day for (p, day) in daily if p == person_id}
        for day, figures in days.items():
            for figure in FIGURES:
                assert figures[figure] == pytest.approx(daily[(person_id, day)][figure]), (
                    person_id,
                    day,
                    figure,
                )
    assert body["throughput"] == [
        {
            "day": day,
            "accepted": extra["throughput"][day]["accepted"],
            "rejected": extra["throughput"][day]["rejected"],
        }
        for day in sorted(extra["throughput"])
    ]


def test_the_session_reads_as_people_would_count_it(
    job: Any, session: dict[str, Any], manager_api: Any
) -> None:
    """The recount above agrees with the server; this says what the numbers are, as a reader would count."""
    body = report(manager_api, job)
    people = {person["username"]: person for person in body["people"]}
    ann, bob, rita = (
        people[session["ann"].username],
        people[session["bob"].username],
        people[session["rita"].username],
    )
    # ann labeled bird, and took dog over from bob; bob labeled cat and dog.
    assert (ann["labeled"], bob["labeled"], rita["labeled"]) == (2, 2, 0)
    assert (ann["accepted"], ann["rejected"], ann["rework"], ann["issues_received"]) == (1, 1, 1, 1)
    assert (bob["accepted"], bob["rejected"], bob["rework"], bob["issues_received"]) == (1, 1, 1, 0)
    assert ann["issues_per_image"] == 0.5
    assert (rita["reviews_accepted"], rita["reviews_rejected"]) == (2, 2)
    # Vertices per shape: ann two triangles; bob a pentagon and two squares.
    assert (ann["shapes"], ann["vertices"], ann["vertices_per_shape"]) == (2, 6, 3.0)
    assert (bob["shapes"], bob["vertices"]) == (3, 13)
    # Active time: the gaps between a person's own commands of a UTC day, each up to 300 s. ann, on the
    # first day: 20+20+20 (vertices), 30 (save), 160 (the issue's resolve after rita's two), 20, 15; on the
    # second (dog): 20+20+20+10. bob: 25+35 on the first day; the hour's pause is cut and his first command
    # of the second day follows none of that day; then 40 and 10.
    assert ann["active_seconds"] == 285 + 70
    assert bob["active_seconds"] == 60 + 50
    assert [day["active_seconds"] for day in bob["days"]] == [60, 50]
    # Two UTC days: the session starts at 23:40.
    assert len(body["throughput"]) == 2
    assert sum(day["accepted"] for day in body["throughput"]) == 2
    assert sum(day["rejected"] for day in body["throughput"]) == 2


def test_a_figures_events_list_names_each_event_behind_it(
    job: Any, session: dict[str, Any], annotator_api: Any
) -> None:
    body = report(annotator_api, job)
    _, _, extra = recount(job, body["idle_gap_seconds"])
    for person in body["people"]:
        for figure in (
            "labeled",
            "accepted",
            "rejected",
            "issues_received",
            "rework",
            "shapes",
            "reviews_accepted",
        ):
            response = annotator_api.get(
                f"/api/jobs/{job.pk}/quality/events/?figure={figure}&person={person['id']}&page_size=500"
            )
            assert response.status_code == 200
            listed = response.json()["results"]
            assert {(e["item_id"], e["seq"]) for e in listed} == extra["marks"][(person["id"], figure)]
            assert len(listed) == person[figure]
            for entry in listed:
                assert entry["replay_url"] == f"/items/{entry['item_id']}/replay/?seq={entry['seq']}"
                stored = StoredEvent.objects.get(item_id=entry["item_id"], seq=entry["seq"])
                assert entry["type"] == stored.type
        if person["shapes"]:
            shapes = annotator_api.get(
                f"/api/jobs/{job.pk}/quality/events/?figure=shapes&person={person['id']}"
            ).json()["results"]
            assert sum(entry["value"] for entry in shapes) == person["vertices"]


def test_a_days_review_throughput_lists_everyones_decisions_of_that_day(
    job: Any, session: dict[str, Any], manager_api: Any
) -> None:
    body = report(manager_api, job)
    for day in body["throughput"]:
        for verdict in ("accepted", "rejected"):
            listed = manager_api.get(
                f"/api/jobs/{job.pk}/quality/events/?figure=reviews_{verdict}&day={day['day']}"
            ).json()["results"]
            assert len(listed) == day[verdict]
            assert {entry["type"] for entry in listed} <= {f"review_{verdict}"}


def test_active_time_events_are_the_persons_events_of_the_day(
    job: Any, session: dict[str, Any], manager_api: Any
) -> None:
    body = report(manager_api, job)
    person = next(p for p in body["people"] if p["username"] == session["bob"].username)
    for day in person["days"]:
        response = manager_api.get(
            f"/api/jobs/{job.pk}/quality/events/?figure=active&person={person['id']}&day={day['day']}"
        )
        assert response.status_code == 200
        assert response.json()["count"] == day["events"]
        assert {e["actor"] for e in response.json()["results"]} == {person["id"]}


def test_the_idle_gap_is_a_setting(
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    annotator: Any,
    annotator_api: Any,
    send: Any,
    clock: Clock,
    settings: Any,
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "QUALITY_IDLE_GAP_SECONDS": 60}
    bird = items[0]
    for seconds in (0, 30, 61, 60):  # gaps 30 (counted), 61 (cut), 60 (counted)
        command(
            send,
            annotator_api,
            bird,
            clock,
            seconds,
            {
                "type": "add_polygon",
                "shape_id": new_id(),
                "label_class_id": labels["cat"].pk,
                "points": square(10, 10, 5),
            },
        )
    [person] = report(annotator_api, job)["people"]
    assert person["active_seconds"] == 90
    assert report(annotator_api, job)["idle_gap_seconds"] == 60


def test_refusals(job: Any, outsider_api: Any, auditor_api: Any) -> None:
    assert outsider_api.get(f"/api/jobs/{job.pk}/quality/").status_code == 404
    assert outsider_api.get(f"/api/jobs/{job.pk}/quality/events/?figure=labeled&person=1").status_code == 404
    bad = auditor_api.get(f"/api/jobs/{job.pk}/quality/events/?figure=nonsense&person=1")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_request"
    assert auditor_api.get(f"/api/jobs/{job.pk}/quality/events/?figure=labeled&person=x").status_code == 400
    assert auditor_api.get(f"/api/jobs/{job.pk}/quality/events/?person=1").status_code == 400
    assert auditor_api.get(f"/api/jobs/{job.pk}/quality/").json()["people"] == []


def test_a_rebuild_from_the_log_gives_the_same_report(
    job: Any, session: dict[str, Any], manager_api: Any
) -> None:
    from django.core.management import call_command

    from apps.review.quality_models import QualityDay, QualityMark

    before = report(manager_api, job)
    marks = sorted(
        QualityMark.objects.filter(job=job).values_list("person", "figure", "day", "item", "seq", "value")
    )
    QualityDay.objects.filter(job=job).update(labeled=0, active_ms=0)  # drifted
    QualityMark.objects.filter(job=job, figure="labeled").delete()
    assert report(manager_api, job) != before

    call_command("quality_rebuild", job=job.pk, stdout=io.StringIO())

    assert report(manager_api, job) == before
    assert (
        sorted(
            QualityMark.objects.filter(job=job).values_list("person", "figure", "day", "item", "seq", "value")
        )
        == marks
    )
