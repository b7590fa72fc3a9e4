"""`/metrics` (apps/ops/metrics.py, apps/common/metrics.py): guarded by a setting, and counting commands, acks,
refusals, broadcasts, open sockets, the queue's depth and tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from apps.datasets.imports import THUMBNAILS_TASK
from apps.tasks import backends
from apps.tasks.durations import task_duration_record
from apps.tasks.runner import task_execute
from apps.tasks.services import task_enqueue
from tests.conftest import new_id, square
from tests.integration.test_ws_support import Sockets, polygon

TOKEN = "s3cret-metrics-token"


def value(name: str, **labels: str) -> float:
    """A sample of the registry, read from the one metric that has it: the queue-depth collector asks the
    database, which not every test opens (nor may an async test's event loop ask it)."""
    for family in REGISTRY.restricted_registry([name]).collect():
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def metrics_setting(settings: Any, **changes: Any) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "METRICS_TOKEN": "", "METRICS_PUBLIC": False, **changes}


# Who may read them --------------------------------------------------------------------------------


def test_metrics_answer_404_when_neither_a_token_nor_public_is_set(settings: Any) -> None:
    metrics_setting(settings)

    assert Client().get("/metrics").status_code == 404


@pytest.mark.django_db  # the scrape reads the queue's depth from the task runs
def test_metrics_are_served_to_anyone_when_public(settings: Any) -> None:
    metrics_setting(settings, METRICS_PUBLIC=True)

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        "polylog_command_ack_seconds",
        "polylog_command_refusals_total",
        "polylog_broadcasts_total",
        "polylog_open_websockets",
        "polylog_task_seconds",
        "process_resident_memory_bytes",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert "Set-Cookie" not in response.headers


@pytest.mark.django_db
def test_metrics_want_the_bearer_token_when_one_is_set(settings: Any, staff: Any) -> None:
    metrics_setting(settings, METRICS_TOKEN=TOKEN, METRICS_PUBLIC=True)  # the token wins over public
    signed_in = Client()
    signed_in.force_login(staff)

    missing = Client().get("/metrics")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    other_scheme = Client().get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}")
    session_only = signed_in.get("/metrics")
    right = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert [r.status_code for r in (missing, wrong, other_scheme, session_only)] == [401] * 4
    assert missing.json()["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert right.status_code == 200
    assert b"polylog_command_ack_seconds_bucket" in right.content


@pytest.mark.django_db  # the scrape reads the queue's depth from the task runs
def test_metrics_speak_openmetrics_when_the_scraper_asks(settings: Any) -> None:
    metrics_setting(settings, METRICS_PUBLIC=True)

    response = Client().get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")

    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


# What they count ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rest_command_is_counted_with_its_ack_time_and_a_refusal_by_its_code(
    item: Any, labels: dict[str, Any], annotator_api: Any, auditor_api: Any, send: Any
) -> None:
    acked = value("polylog_command_ack_seconds_count", transport="rest")
    outside = value("polylog_command_refusals_total", transport="rest", code="polygon_outside_image")
    denied = value("polylog_command_refusals_total", transport="rest", code="permission_denied")
    invalid = value("polylog_command_refusals_total", transport="rest", code="invalid_request")

    assert send(annotator_api, item.pk, polygon(new_id(), labels["cat"].pk, square(10, 10, 20))).status == 201
    far = polygon(new_id(), labels["cat"].pk, square(10_000, 10, 20))
    assert send(annotator_api, item.pk, far).status == 422
    assert send(auditor_api, item.pk, polygon(new_id(), labels["cat"].pk, square(10, 10, 20))).status == 403
    assert send(annotator_api, item.pk, {"type": "no_such_command"}).status == 400

    assert value("polylog_command_ack_seconds_count", transport="rest") == acked + 1
    assert (
        value("polylog_command_refusals_total", transport="rest", code="polygon_outside_image") == outside + 1
    )
    assert value("polylog_command_refusals_total", transport="rest", code="permission_denied") == denied + 1
    assert (
        value("polylog_command_refusals_total", transport="rest", code="invalid_command")
        + value("polylog_command_refusals_total", transport="rest", code="invalid_request")
        >= invalid + 1
    )


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_websocket_commands_refusals_broadcasts_and_open_sockets_are_counted(
    item: Any, labels: dict[str, Any], annotator: Any, sockets: Sockets
) -> None:
    acked = value("polylog_command_ack_seconds_count", transport="ws")
    refused = value("polylog_command_refusals_total", transport="ws", code="polygon_outside_image")
    events_sent = value("polylog_broadcasts_total", type="item.events")
    before_open = value("polylog_open_websockets")

    peer = await sockets.item(annotator, item.pk)
    opened = value("polylog_open_websockets")
    ack = await peer.command(polygon(new_id(), labels["cat"].pk, square(10, 10, 20)), "metrics-1")
    rejected = await peer.command(polygon(new_id(), labels["cat"].pk, square(10_000, 10, 20)), "metrics-2")
    await peer.close()

    assert (ack["type"], rejected["type"]) == ("ack", "rejected")
    assert opened == before_open + 1
    assert value("polylog_open_websockets") == before_open
    assert value("polylog_command_ack_seconds_count", transport="ws") == acked + 1
    assert value("polylog_command_ack_seconds_sum", transport="ws") > 0
    assert (
        value("polylog_command_refusals_total", transport="ws", code="polygon_outside_image") == refused + 1
    )
    assert value("polylog_broadcasts_total", type="item.events") == events_sent + 1


@pytest.mark.django_db
def test_the_queue_depth_counts_the_runs_waiting_at_each_scrape(settings: Any) -> None:
    from apps.tasks.models import TaskRun

    metrics_setting(settings, METRICS_PUBLIC=True)
    waiting = [TaskRun.objects.create(kind="thumbnails", status=TaskRun.Status.QUEUED) for _ in range(3)]
    TaskRun.objects.create(kind="import", status=TaskRun.Status.RUNNING)

    first = Client().get("/metrics").content.decode()
    TaskRun.objects.filter(pk=waiting[0].pk).update(status=TaskRun.Status.DONE)
    second = Client().get("/metrics").content.decode()

    assert "polylog_queue_depth 3.0" in first
    assert "polylog_queue_depth 2.0" in second


def test_a_scrape_without_the_database_still_answers_without_the_queue_depth(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No django_db mark: the database is out of reach, as when it is down."""
    metrics_setting(settings, METRICS_PUBLIC=True)

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert b"polylog_open_websockets" in response.content
    assert b"polylog_queue_depth " not in response.content


def scraped(name: str, **labels: str) -> float | None:
    """A sample of /metrics as a scraper reads it (the text, parsed); None when it is not there."""
    text = Client().get("/metrics").content.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


@pytest.mark.django_db
def test_task_durations_are_counted_in_the_database_as_a_histogram(settings: Any) -> None:
    metrics_setting(settings, METRICS_PUBLIC=True)

    task_duration_record(kind="import", status="done", seconds=0.3)
    task_duration_record(kind="import", status="done", seconds=40.0)
    task_duration_record(kind="import", status="failed", seconds=2.0)

    done = {"kind": "import", "status": "done"}
    assert scraped("polylog_task_seconds_count", **done) == 2
    assert scraped("polylog_task_seconds_sum", **done) == pytest.approx(40.3)
    buckets = {
        le: scraped("polylog_task_seconds_bucket", **done, le=le)
        for le in ("0.25", "0.5", "30.0", "60.0", "+Inf")
    }
    assert buckets == {"0.25": 0, "0.5": 1, "30.0": 1, "60.0": 2, "+Inf": 2}
    assert scraped("polylog_task_seconds_count", kind="import", status="failed") == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_that_ends_is_counted_with_its_recorded_duration_and_status(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_setting(settings, METRICS_PUBLIC=True)
    monkeypatch.setattr(backends, "submit", lambda run_id, kind: None)  # the test runs them itself
    done = task_enqueue(kind=THUMBNAILS_TASK, args={"image_ids": []})
    failed = task_enqueue(kind=THUMBNAILS_TASK, args={})  # no image_ids: a KeyError

    task_execute(done.pk)
    task_execute(failed.pk)
    task_execute(done.pk)  # taken up once only: counted once

    done.refresh_from_db()
    assert scraped("polylog_task_seconds_count", kind=THUMBNAILS_TASK, status="done") == 1
    assert scraped("polylog_task_seconds_sum", kind=THUMBNAILS_TASK, status="done") == pytest.approx(
        done.duration
    )
    assert scraped("polylog_task_seconds_count", kind=THUMBNAILS_TASK, status="failed") == 1
