"""The Model tool under a real Daphne: a request waiting on a stalled model server holds only its own
thread, so the server keeps answering everyone else meanwhile (Django gives each request its own
thread-sensitive context, and the model's wait holds none of the CPU tools' slots).

No timing is asserted: the stalled model server holds the request until the test lets it go, and the
other request must be answered while it is still held.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.assist_model_servers import ModelServer, model_server, stalling
from tests.e2e.test_audit_session import database_url
from tests.live_servers import Daphne, daphne_start, server_env, wait_until_serving

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 60.0  # seconds at most for anything to happen; a deadline, never a measure


@pytest.fixture
def stalled() -> Iterator[ModelServer]:
    with model_server(stalling) as server:
        yield server


@pytest.fixture
def server(transactional_db: None, tmp_path: Path, stalled: ModelServer) -> Iterator[Daphne]:
    env = server_env(
        tmp_path / "var",
        DATABASE_URL=database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        POLYLOG_ASSIST_MODEL_URL=stalled.url,
        POLYLOG_ASSIST_MODEL_TIMEOUT=str(WAIT),
        POLYLOG_ASSIST_RATE="",
    )
    daphne = daphne_start(env, tmp_path / "logs", "assist-model")
    try:
        wait_until_serving([daphne], timeout=90)
        yield daphne
    finally:
        daphne.stop()


def call(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
    request.add_header("Authorization", f"Token {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_request_waiting_on_the_model_does_not_hold_up_the_others(
    server: Daphne, stalled: ModelServer, item: Any, annotator: Any, annotator2: Any
) -> None:
    from apps.accounts.tokens import token_create

    waiting_token, other_token = (token_create(user=user).token for user in (annotator, annotator2))
    answers: list[tuple[int, Any]] = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            call(
                f"{server.base_url}/api/items/{item.pk}/assist/model/",
                waiting_token,
                {"box": [20, 10, 60, 50]},
            )
        )
    )
    waiting.start()
    try:
        assert stalled.arrived.wait(WAIT), server.log_tail()

        other = call(f"{server.base_url}/api/items/{item.pk}/state/", other_token)
        still_waiting = waiting.is_alive() and not answers
    finally:
        stalled.release.set()
        waiting.join(WAIT)

    assert other[0] == 200
    assert still_waiting, "the other request was answered only after the model's"
    assert answers == [
        (200, {"polygons": [{"points": [[40, 10], [60, 30], [40, 50], [20, 30]], "score": 0.9}]})
    ]
