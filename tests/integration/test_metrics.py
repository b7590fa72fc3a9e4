"""`/metrics` (apps/ops/metrics.py, apps/common/metrics.py): guarded by a setting, and counting commands, acks,
refusals, broadcasts, open sockets, the queue's depth and tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from django.test import Client
from prometheus_client import REGISTRY

from apps.common import metrics as recorded
from apps.ops import metrics as view
from tests.conftest import new_id, square
from tests.integration.test_ws_support import Sockets, polygon

TOKEN = "s3cret-metrics-token"


def value(name: str, **labels: str) -> float:
    """A sample of the registry. The queue-depth collector asks the database, which not every test opens
    (nor may the event loop's thread ask it): it is left out unless the depth is what is read."""
    if name == "polylog_queue_depth":
        return REGISTRY.get_sample_value(name, labels) or 0.0
    queue, view.task_queue = view.task_queue, lambda: None
    try:
        return REGISTRY.get_sample_value(name, labels) or 0.0
    finally:
        view.task_queue = queue


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


def test_the_queue_depth_is_read_from_the_task_layer_at_each_scrape(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_setting(settings, METRICS_PUBLIC=True)
    depth = {"now": 7}

    class Queue:
        @staticmethod
        def queue_depth() -> int:
            return depth["now"]

    monkeypatch.setattr(view, "task_queue", lambda: Queue)

    first = Client().get("/metrics").content.decode()
    depth["now"] = 2
    second = Client().get("/metrics").content.decode()

    assert "polylog_queue_depth 7.0" in first
    assert "polylog_queue_depth 2.0" in second


def test_no_queue_depth_where_the_tree_has_no_task_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(view, "task_queue", lambda: None)

    assert value("polylog_queue_depth") == 0.0
    assert REGISTRY.get_sample_value("polylog_queue_depth") is None


def test_task_finished_feeds_the_task_duration_histogram() -> None:
    before = value("polylog_task_seconds_count", kind="import", status="done")

    recorded.task_finished("import", 12.5, "done")

    assert value("polylog_task_seconds_count", kind="import", status="done") == before + 1
    assert value("polylog_task_seconds_bucket", kind="import", status="done", le="30.0") >= 1
