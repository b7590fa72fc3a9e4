"""Issue 7's acceptance on a real server: a labeling session recorded through the project's websocket client
(clients/python) against a Daphne process, by three people with undo, redo, reset, save and
discard; then for every seq the server's state at that seq equals the domain's fold of events 1..seq, and
the job's event log, downloaded from that server (so streamed through ASGI), verifies with
docs/verify_log.py.

The server runs on this test's own database (SQLite file or PostgreSQL), so it needs no other service.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from polylog_client import LabelingClient, http_json

from apps.labeling.domain import SCHEMA_VERSION, event_from_record, evolve, initial_state, state_view
from tests.client_fold import DOMAIN_FOLD
from tests.conftest import square
from tests.live_servers import Daphne, daphne_start, server_env, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def database_url() -> str:
    """The URL of the database this test runs on, for the server process."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    if "postgresql" in db["ENGINE"]:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.skip(f"no server URL for {db['ENGINE']}")


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[Daphne]:
    env = server_env(tmp_path / "var", DATABASE_URL=database_url(), POLYLOG_SNAPSHOT_EVERY="5")
    daphne = daphne_start(env, tmp_path / "logs", "audit")
    try:
        wait_until_serving([daphne], timeout=90)
        yield daphne
    finally:
        daphne.stop()


def tokens_for(*users: Any) -> list[str]:
    from apps.accounts.tokens import token_create

    return [token_create(user=user).token for user in users]


def new_id() -> str:
    return str(uuid.uuid4())


def session_script(cat: int, dog: int) -> list[tuple[int, dict[str, Any]]]:
    """(who: 0 ann, 1 bob, 2 mia; command), one event each."""
    a, b, c, d = new_id(), new_id(), new_id(), new_id()
    return [
        (0, {"type": "add_vertex", "shape_id": a, "x": 10, "y": 10}),
        (1, {"type": "add_vertex", "shape_id": b, "x": 60, "y": 10}),
        (0, {"type": "add_vertex", "shape_id": a, "x": 30, "y": 10}),
        (1, {"type": "add_vertex", "shape_id": b, "x": 90, "y": 10}),
        (0, {"type": "add_vertex", "shape_id": a, "x": 30, "y": 30}),
        (1, {"type": "add_vertex", "shape_id": b, "x": 90, "y": 30}),
        (0, {"type": "close_polygon", "shape_id": a, "label_class_id": cat}),
        (0, {"type": "undo"}),
        (0, {"type": "redo"}),
        (1, {"type": "close_polygon", "shape_id": b, "label_class_id": dog}),
        (2, {"type": "add_polygon", "shape_id": c, "label_class_id": cat, "points": square(20, 45, 20)}),
        (2, {"type": "move_vertex", "shape_id": a, "index": 1, "x": 35, "y": 12}),
        (1, {"type": "reset_shape", "shape_id": a}),
        (2, {"type": "save"}),
        (1, {"type": "move_shape", "shape_id": b, "dx": -5, "dy": 3}),
        (0, {"type": "add_vertex", "shape_id": d, "x": 5, "y": 70}),
        (0, {"type": "discard_changes"}),
        (1, {"type": "undo"}),
        (2, {"type": "delete_shape", "shape_id": c}),
        (2, {"type": "undo"}),
        (2, {"type": "redo"}),
        (1, {"type": "relabel_shape", "shape_id": a, "label_class_id": dog}),
        (1, {"type": "save"}),
        (0, {"type": "mark_hard_example"}),
    ]


async def label(base: str, item_id: int, tokens: list[str], script: list[tuple[int, dict]]) -> dict:
    people, watcher_token = tokens[:3], tokens[3]
    async with (
        LabelingClient.connect(base, item_id, watcher_token, fold=DOMAIN_FOLD) as watcher,
        LabelingClient.connect(base, item_id, people[0]) as ann,
        LabelingClient.connect(base, item_id, people[1]) as bob,
        LabelingClient.connect(base, item_id, people[2]) as mia,
    ):
        clients = [ann, bob, mia]
        await asyncio.gather(*(client.hello(since_seq=0) for client in [watcher, *clients]))
        acked = [(await clients[who].command(command)).seq for who, command in script]
        await watcher.wait_for_seq(len(script))
        served = [
            await asyncio.to_thread(
                http_json, f"{base}/api/items/{item_id}/state/?at_seq={seq}", token=watcher_token
            )
            for seq in range(len(script) + 1)
        ]
        return {
            "acked": acked,
            "events": list(watcher.events),
            "anomalies": (watcher.duplicates, watcher.gaps),
            "served": served,
            "final": watcher.state_view(),
        }


def download(url: str, token: str) -> tuple[str, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with _DIRECT.open(request, timeout=30) as response:
        return response.headers["Content-Type"], response.read()


@pytest.mark.django_db(transaction=True)
def test_every_seq_of_a_session_recorded_through_the_websocket_client_replays_to_the_servers_state(
    server: Daphne,
    job: Any,
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    manager: Any,
    auditor: Any,
    tmp_path: Path,
) -> None:
    tokens = tokens_for(annotator, annotator2, manager, auditor)
    script = session_script(labels["cat"].pk, labels["dog"].pk)

    outcome = asyncio.run(asyncio.wait_for(label(server.base_url, item.pk, tokens, script), timeout=120))

    assert outcome["acked"] == list(range(1, len(script) + 1)), "every command made one event"
    events = outcome["events"]
    assert [e["seq"] for e in events] == outcome["acked"]
    assert outcome["anomalies"] == (0, 0)
    assert len({e["actor"] for e in events}) == 3
    state = initial_state(item.image.width, item.image.height)
    assert outcome["served"][0] == state_view(state, item.pk)
    for event in events:
        state = evolve(
            state, event_from_record(event["type"], SCHEMA_VERSION, event["payload"], event["actor"])
        )
        assert outcome["served"][event["seq"]] == state_view(state, item.pk), f"at seq {event['seq']}"
    assert outcome["final"] == outcome["served"][-1]

    content_type, log = download(f"{server.base_url}/api/jobs/{job.pk}/log/", tokens[3])
    path = tmp_path / "job.jsonl"
    path.write_bytes(log)
    verified = subprocess.run(
        [sys.executable, "-I", str(ROOT / "docs" / "verify_log.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert content_type == "application/x-ndjson"
    assert verified.returncode == 0, verified.stderr
    assert f"OK {len(script)} events in 1 items verified" in verified.stdout
