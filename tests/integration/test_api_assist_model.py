"""POST /api/items/<id>/assist/model/ against real model servers on loopback (tests/assist_model_servers.py):
the fake model's polygon comes back as the proposal, the request it got carries the image and the prompts,
and a slow, down or wrong server is a clear refusal. Who may ask, and that nothing is ever written."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from apps.assist import available_tools
from apps.assist.images import CACHE
from apps.assist.model_api import model_slot
from apps.labeling.models import StoredEvent
from tests.assist_model_servers import (
    ModelServer,
    answering,
    closed_port_url,
    fake_model,
    image_bytes_sent,
    model_server,
    stalling,
)

BOX = [20, 10, 60, 50]  # on the cat image, 100x80
DIAMOND = [[40.0, 10.0], [60.0, 30.0], [40.0, 50.0], [20.0, 30.0]]


def url(item: Any) -> str:
    return f"/api/items/{item.pk}/assist/model/"


@pytest.fixture(autouse=True)
def _assist_settings(settings: Any) -> Iterator[None]:
    settings.POLYLOG_ASSIST_MODEL_TIMEOUT = 5
    settings.POLYLOG_ASSIST_RATE = ""
    CACHE.clear()
    yield
    CACHE.clear()


@pytest.fixture
def fake(settings: Any) -> Iterator[ModelServer]:
    with model_server(fake_model) as server:
        settings.POLYLOG_ASSIST_MODEL_URL = server.url
        yield server


@pytest.fixture
def served(settings: Any) -> Iterator[Callable[..., ModelServer]]:
    """Start a model server answering as `respond` does, made the configured one (closed at the end)."""
    with ExitStack() as stack:

        def start(respond: Callable[..., tuple[int, bytes]]) -> ModelServer:
            server = stack.enter_context(model_server(respond))
            settings.POLYLOG_ASSIST_MODEL_URL = server.url
            return server

        yield start


# The answer -----------------------------------------------------------------------------------------


def test_it_answers_the_models_polygon_for_a_box(annotator_api: Any, item: Any, fake: ModelServer) -> None:
    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"polygons": [{"points": DIAMOND, "score": 0.9}]}


def test_the_model_gets_the_stored_image_and_the_prompts(
    annotator_api: Any, item: Any, fake: ModelServer
) -> None:
    points = [{"x": 30, "y": 20, "label": 1}, {"x": 90.5, "y": 70, "label": 0}]

    annotator_api.post(url(item), {"box": BOX, "points": points}, format="json")

    [sent] = fake.received
    image = item.image
    with image.file.open("rb") as handle:
        stored = handle.read()
    assert image_bytes_sent(sent) == stored
    assert {k: sent["image"][k] for k in ("id", "width", "height", "checksum")} == {
        "id": image.pk,
        "width": 100,
        "height": 80,
        "checksum": image.checksum,
    }
    assert sent["points"] == [{"x": 30.0, "y": 20.0, "label": 1}, {"x": 90.5, "y": 70.0, "label": 0}]
    assert sent["box"] == [20.0, 10.0, 60.0, 50.0]


def test_points_alone_are_a_prompt(annotator_api: Any, item: Any, fake: ModelServer) -> None:
    response = annotator_api.post(url(item), {"points": [{"x": 50, "y": 40, "label": 1}]}, format="json")

    assert response.json() == {
        "polygons": [{"points": [[45, 35], [55, 35], [55, 45], [45, 45]], "score": 0.8}]
    }
    assert fake.received[0]["box"] is None


def test_a_proposal_writes_nothing(annotator_api: Any, item: Any, fake: ModelServer) -> None:
    before = StoredEvent.objects.count()

    annotator_api.post(url(item), {"box": BOX}, format="json")

    assert StoredEvent.objects.count() == before


# Who may ask ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["annotator_api", "manager_api", "staff_api"])
def test_annotators_managers_and_staff_may_ask(who: str, request: Any, item: Any, fake: ModelServer) -> None:
    response = request.getfixturevalue(who).post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 200


def test_an_auditor_is_refused_and_the_model_is_not_asked(
    auditor_api: Any, item: Any, fake: ModelServer
) -> None:
    response = auditor_api.post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert fake.received == []


def test_a_reviewer_is_refused(make_user: Any, client_for: Any, item: Any, fake: ModelServer) -> None:
    from apps.labeling.models import Role
    from apps.labeling.services import job_member_set

    reviewer = make_user("rita_reviewer")
    job_member_set(job=item.job, user=reviewer, role=Role.REVIEWER)

    response = client_for(reviewer).post(url(item), {"box": BOX}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert fake.received == []


def test_a_stranger_is_told_the_item_does_not_exist(outsider_api: Any, item: Any, fake: ModelServer) -> None:
    existing = outsider_api.post(url(item), {"box": BOX}, format="json")
    missing = outsider_api.post(f"/api/items/{item.pk + 1000}/assist/model/", {"box": BOX}, format="json")

    assert existing.status_code == missing.status_code == 404
    assert existing.json()["code"] == "not_found"
    assert existing.json()["message"].replace(str(item.pk), "#") == missing.json()["message"].replace(
        str(item.pk + 1000), "#"
    )
    assert fake.received == []


def test_anonymous_is_not_authenticated(client_for: Any, item: Any, fake: ModelServer) -> None:
    assert client_for(None).post(url(item), {"box": BOX}, format="json").status_code == 401


# Configured or not ----------------------------------------------------------------------------------


def test_without_a_model_server_the_route_is_not_configured_and_no_model_tool(
    annotator_api: Any, item: Any, settings: Any
) -> None:
    settings.POLYLOG_ASSIST_MODEL_URL = ""

    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "assist_model_not_configured"
    assert "model" not in available_tools()


def test_with_a_model_server_the_model_tool_is_offered(fake: ModelServer) -> None:
    assert available_tools()[-1] == "model"


# Bad prompts: refused before the model is asked -----------------------------------------------------

BAD_PROMPTS = {
    "no prompt": {},
    "a box of no area": {"box": [10, 10, 10, 40]},
    "a box outside the image": {"box": [10, 10, 200, 40]},
    "a point outside": {"points": [{"x": 101, "y": 5, "label": 1}]},
    "a label of 2": {"points": [{"x": 1, "y": 5, "label": 2}]},
    "too many points": {"points": [{"x": 1, "y": 5, "label": 1}] * 51},
    "a string coordinate": {"points": [{"x": "1", "y": 5, "label": 1}]},
}


@pytest.mark.parametrize("body", BAD_PROMPTS.values(), ids=BAD_PROMPTS.keys())
def test_a_bad_prompt_is_refused_before_the_model_is_asked(
    body: dict[str, Any], annotator_api: Any, item: Any, fake: ModelServer
) -> None:
    response = annotator_api.post(url(item), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_prompt"
    assert fake.received == []


def test_a_non_finite_coordinate_is_refused(annotator_api: Any, item: Any, fake: ModelServer) -> None:
    body = b'{"box": [NaN, 1, 20, 20]}'

    response = annotator_api.post(url(item), body, content_type="application/json")

    assert response.status_code == 400
    assert fake.received == []


# A model server that fails ----------------------------------------------------------------------------


def test_a_slow_model_server_is_a_timeout_with_a_clear_message(
    annotator_api: Any, item: Any, settings: Any, served: Any
) -> None:
    settings.POLYLOG_ASSIST_MODEL_TIMEOUT = 0.3
    served(stalling)

    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 504
    assert response.json() == {
        "code": "assist_model_timeout",
        "message": "The model server did not answer within 0.3 seconds; try again, or use another tool.",
    }


def test_a_model_server_that_is_down_is_unavailable(annotator_api: Any, item: Any, settings: Any) -> None:
    settings.POLYLOG_ASSIST_MODEL_URL = closed_port_url()

    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "assist_model_unavailable"
    assert "refused" in response.json()["message"]


def test_a_model_server_error_is_unavailable(annotator_api: Any, item: Any, served: Any) -> None:
    served(answering(b'{"error": "CUDA out of memory"}', status=500))

    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 502
    assert response.json() == {
        "code": "assist_model_unavailable",
        "message": "The model server could not be reached: it answered HTTP 500 Internal Server Error.",
    }


MALFORMED = {
    "not JSON": b"Traceback (most recent call last): ...",
    "wrong shape": b'{"masks": [[0, 0, 1]]}',
    "NaN": b'{"polygons": [{"points": [[NaN, 0], [10, 0], [10, 10]], "score": 1}]}',
    "points outside": b'{"polygons": [{"points": [[0, 0], [300, 0], [300, 70]], "score": 1}]}',
    "too few points": b'{"polygons": [{"points": [[0, 0], [10, 0]], "score": 1}]}',
    "a score past 1": b'{"polygons": [{"points": [[0, 0], [10, 0], [10, 10]], "score": 7}]}',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_is_a_bad_answer(body: bytes, annotator_api: Any, item: Any, served: Any) -> None:
    served(answering(body))

    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "assist_model_bad_answer"
    assert response.json()["message"].startswith("The model server's answer is not usable: ")


def test_an_answer_with_no_usable_polygon_is_no_proposal(annotator_api: Any, item: Any, served: Any) -> None:
    served(answering(json.dumps({"polygons": [{"points": [[0, 0], [5, 5], [10, 10]], "score": 1}]}).encode()))

    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert (response.status_code, response.json()["code"]) == (422, "no_proposal")


# Limits -----------------------------------------------------------------------------------------------


def test_past_the_rate_a_person_is_told_to_wait(
    annotator_api: Any, item: Any, settings: Any, fake: ModelServer
) -> None:
    settings.POLYLOG_ASSIST_RATE = "1/min"

    first = annotator_api.post(url(item), {"box": BOX}, format="json")
    second = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert first.status_code == 200
    assert (second.status_code, second.json()["code"]) == (429, "rate_limited")
    assert len(fake.received) == 1


def test_with_every_slot_to_the_model_taken_it_is_busy(
    annotator_api: Any, item: Any, settings: Any, fake: ModelServer
) -> None:
    settings.POLYLOG_ASSIST_MODEL_CONCURRENCY = 1
    settings.POLYLOG_ASSIST_WAIT_SECONDS = 0

    with model_slot():  # another request's, in flight
        response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert (response.status_code, response.json()["code"]) == (503, "assist_busy")
    assert fake.received == []


def test_the_image_file_is_read_once_for_many_prompts(
    annotator_api: Any, item: Any, fake: ModelServer
) -> None:
    for _ in range(3):
        annotator_api.post(url(item), {"box": BOX}, format="json")

    assert (CACHE.misses, CACHE.hits) == (1, 2)
    assert len({m["image"]["bytes_b64"] for m in fake.received}) == 1


# The example server of docs/assist.md ---------------------------------------------------------------


def example_handler() -> type:
    """The request handler of the example server in docs/assist.md, taken from the page as written."""
    from pathlib import Path

    from django.conf import settings

    page = (Path(settings.BASE_DIR) / "docs" / "assist.md").read_text()
    section = page.split("### An example server", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {"__name__": "docs_assist_example"}  # not "__main__": it must not serve
    exec(compile(code, "docs/assist.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["Handler"]


def test_the_example_server_in_the_docs_speaks_the_protocol(
    annotator_api: Any, item: Any, settings: Any
) -> None:
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), example_handler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.POLYLOG_ASSIST_MODEL_URL = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        boxed = annotator_api.post(url(item), {"box": BOX}, format="json")
        clicked = annotator_api.post(url(item), {"points": [{"x": 95, "y": 40, "label": 1}]}, format="json")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    assert boxed.json() == {"polygons": [{"points": DIAMOND, "score": 1.0}]}
    # Around the click, the box cut at the image's right border (100 px).
    assert clicked.json() == {
        "polygons": [{"points": [[92.5, 30], [100, 40], [92.5, 50], [85, 40]], "score": 1.0}]
    }


def test_an_image_file_too_large_to_send_is_no_proposal(
    annotator_api: Any, item: Any, fake: ModelServer, monkeypatch: Any
) -> None:
    from apps.assist import model_api

    monkeypatch.setattr(model_api, "MAX_MODEL_FILE_BYTES", item.image.file.size - 1)

    response = annotator_api.post(url(item), {"box": BOX}, format="json")

    assert (response.status_code, response.json()["code"]) == (422, "no_proposal")
    assert "more than is sent to the model server" in response.json()["message"]
    assert fake.received == []


# The operators' check -------------------------------------------------------------------------------


def test_the_check_command_reports_the_models_answer(fake: ModelServer) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("assist_model_check", stdout=out)

    assert "answered 1 usable polygon(s)" in out.getvalue()
    assert "1. score 0.9, 4 points" in out.getvalue()
    assert fake.received[0]["box"] == [24.0, 12.0, 72.0, 60.0]
    assert image_bytes_sent(fake.received[0]).startswith(b"\x89PNG")


def test_the_check_command_says_why_there_is_no_answer(settings: Any) -> None:
    from django.core.management import CommandError, call_command

    settings.POLYLOG_ASSIST_MODEL_URL = closed_port_url()
    with pytest.raises(CommandError, match="assist_model_unavailable: The model server could not be reached"):
        call_command("assist_model_check")

    settings.POLYLOG_ASSIST_MODEL_URL = ""
    with pytest.raises(CommandError, match="no model server is configured"):
        call_command("assist_model_check")
