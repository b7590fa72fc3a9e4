"""Real servers: two Daphne processes sharing one PostgreSQL and one Redis; a client on each labels the same
item at the same time, both see every event in the same order, and the store holds them without a gap.

Needs PostgreSQL and Redis on their standard local ports: skipped without them, except on CI (CI=true).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from polylog_client import CommandRejected, LabelingClient, http_json, token_get

from tests.client_fold import DOMAIN_FOLD
from tests.conftest import service_missing
from tests.live_servers import (
    Daphne,
    Unavailable,
    daphne_start,
    manage,
    photos_write,
    postgres_fresh,
    redis_flushed,
    server_env,
    wait_until_serving,
)

DATABASE = "polylog_ws_e2e"
REDIS_DB = 5
ANNOTATOR, ANNOTATOR_PASSWORD = "ws_e2e_annotator", "ws-e2e-annotator-pw"
POLYGONS_EACH, VERTICES = 4, 6
CREATE_ANNOTATOR = (
    "from django.contrib.auth import get_user_model; "
    f"get_user_model().objects.create_user({ANNOTATOR!r}, password={ANNOTATOR_PASSWORD!r})"
)


@dataclass
class Site:
    servers: list[Daphne]
    database_url: str
    job_id: int
    item: dict[str, Any]
    label_class_ids: list[int]
    tokens: dict[str, str]


def _services() -> tuple[str, str]:
    try:
        return postgres_fresh(DATABASE), redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "PostgreSQL and Redis on their standard local ports")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database_url, redis_url = _services()
    var_dir = tmp_path_factory.mktemp("var")
    env = server_env(var_dir, DATABASE_URL=database_url, REDIS_URL=redis_url)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(var_dir / "photos", 2)))
    manage(env, "shell", "-c", CREATE_ANNOTATOR)

    servers: list[Daphne] = []
    try:
        for n in (1, 2):
            servers.append(daphne_start(env, var_dir / "logs", f"daphne{n}"))
        wait_until_serving(servers)
        base = servers[0].base_url
        tokens = {
            "demo": token_get(base, "demo", "demo-polylog"),
            ANNOTATOR: token_get(servers[1].base_url, ANNOTATOR, ANNOTATOR_PASSWORD),
        }
        job = next(
            j for j in http_json(f"{base}/api/jobs/", token=tokens["demo"]) if j["name"].startswith("Demo")
        )
        http_json(
            f"{base}/api/jobs/{job['id']}/members/",
            token=tokens["demo"],
            data={"username": ANNOTATOR, "role": "annotator"},
        )
        items = http_json(f"{base}/api/jobs/{job['id']}/items/", token=tokens["demo"])
        items = items["results"] if isinstance(items, dict) else items
        label_classes = http_json(f"{base}/api/jobs/{job['id']}/label-classes/", token=tokens["demo"])
        yield Site(
            servers=servers,
            database_url=database_url,
            job_id=job["id"],
            item=items[0],
            label_class_ids=[c["id"] for c in label_classes],
            tokens=tokens,
        )
    finally:
        for server in servers:
            server.stop()


def drawing(corner: tuple[float, float], label_class_ids: list[int]) -> Iterator[dict[str, Any]]:
    """Hexagons drawn vertex by vertex and closed, in a column starting at `corner`."""
    for n in range(POLYGONS_EACH):
        shape_id = str(uuid.uuid4())
        cx, cy = corner[0] + 40, corner[1] + 40 + 100 * n
        for v in range(VERTICES):
            angle = 2 * math.pi * v / VERTICES
            yield {
                "type": "add_vertex",
                "shape_id": shape_id,
                "x": cx + 30 * math.cos(angle),
                "y": cy + 30 * math.sin(angle),
            }
        yield {
            "type": "close_polygon",
            "shape_id": shape_id,
            "label_class_id": label_class_ids[n % len(label_class_ids)],
        }
    yield {"type": "undo"}


async def label(client: LabelingClient, commands: Iterator[dict[str, Any]]) -> list[int]:
    """Send the commands one after the other (each waits for its ack); the seqs acked."""
    return [(await client.command(command)).seq for command in commands]


async def collaborate(site: Site) -> dict[str, Any]:
    item_id = site.item["id"]
    width, height = site.item["image"]["width"], site.item["image"]["height"]
    one, two = site.servers
    async with (
        LabelingClient.connect(one.base_url, item_id, site.tokens["demo"], fold=DOMAIN_FOLD) as a,
        LabelingClient.connect(
            two.base_url, item_id, site.tokens[ANNOTATOR], width=width, height=height, fold=DOMAIN_FOLD
        ) as b,
    ):
        await asyncio.gather(a.hello(since_seq=0), b.hello(since_seq=0))
        # Presence crosses processes through Redis: each sees both people.
        await asyncio.gather(a.wait_until(lambda: len(a.users) == 2), b.wait_until(lambda: len(b.users) == 2))
        acked_a, acked_b = await asyncio.gather(
            label(a, drawing((20, 20), site.label_class_ids)),
            label(b, drawing((width / 2, 20), site.label_class_ids)),
        )
        last = max(acked_a + acked_b)
        await asyncio.gather(a.wait_for_seq(last), b.wait_for_seq(last))
        await a.cursor(123.5, 45.0)
        await b.wait_until(lambda: bool(b.cursors))
        with pytest.raises(CommandRejected) as refused:
            await b.command(
                {
                    "type": "close_polygon",
                    "shape_id": str(uuid.uuid4()),
                    "label_class_id": site.label_class_ids[0],
                }
            )
        served = await asyncio.to_thread(
            http_json, f"{one.base_url}/api/items/{item_id}/state/", token=site.tokens["demo"]
        )
        return {
            "acked": acked_a + acked_b,
            "events": (a.events, b.events),
            "views": (a.state_view(), b.state_view(), served),
            "anomalies": (a.duplicates, a.gaps, b.duplicates, b.gaps),
            "cursor": b.cursors,
            "refused": refused.value.code,
            "users": {u["username"] for u in a.users.values()},
        }


def stored_seqs(database_url: str, item_id: int) -> list[int]:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
        rows = conn.execute("SELECT seq FROM labeling_event WHERE item_id = %s ORDER BY seq", [item_id])
        return [seq for (seq,) in rows]


def test_two_processes_label_one_item_and_agree_on_every_event(site: Site) -> None:
    outcome = asyncio.run(asyncio.wait_for(collaborate(site), timeout=45))

    acked = outcome["acked"]
    per_client = 2 * (POLYGONS_EACH * (VERTICES + 1) + 1)
    assert len(acked) == per_client, "every command was acked"
    assert sorted(acked) == list(range(1, len(acked) + 1)), "each acked command made one event, no seq twice"

    events_a, events_b = outcome["events"]
    assert [e["seq"] for e in events_a] == list(range(1, len(acked) + 1))
    # Compared as data: an event a socket read back from PostgreSQL (to fill a gap) has its payload's
    # keys in jsonb's order, a broadcast one in the order they were written.
    assert events_a == events_b, "both processes sent the same events in the same order"
    assert len({e["actor"] for e in events_a}) == 2, "both people's events are there"
    assert outcome["anomalies"] == (0, 0, 0, 0), "no client saw a duplicated or missing event"

    assert stored_seqs(site.database_url, site.item["id"]) == list(range(1, len(acked) + 1))

    view_a, view_b, served = outcome["views"]
    assert view_a == view_b == served, "the state rebuilt from events is the server's state"
    # Each person's undo took back their own last polygon whole (drawn and closed, it is one action).
    assert (len(served["shapes"]), len(served["drafts"])) == (2 * POLYGONS_EACH - 2, 0)

    assert outcome["users"] == {"demo", ANNOTATOR}
    assert list(outcome["cursor"].values()) == [(123.5, 45.0)]
    assert outcome["refused"] == "unknown_shape"


async def visit(site: Site) -> None:
    for server, token in zip(site.servers, site.tokens.values(), strict=True):
        async with LabelingClient.connect(server.base_url, site.item["id"], token) as client:
            await client.ping()


def test_the_token_stays_out_of_the_access_logs(site: Site) -> None:
    asyncio.run(asyncio.wait_for(visit(site), timeout=20))

    logs = [server.access_log.read_text() for server in site.servers]
    assert all("WSCONNECT /ws/items/" in log for log in logs), "both servers logged the websocket"
    for token in site.tokens.values():
        assert all(token not in log for log in logs)


async def revoke_across_processes(site: Site) -> tuple[int | None, float]:
    """The annotator on the first process; the manager lowers their role through the second."""
    one, two = site.servers
    async with LabelingClient.connect(one.base_url, site.item["id"], site.tokens[ANNOTATOR]) as client:
        await client.hello(since_seq=0)
        started = asyncio.get_running_loop().time()
        await asyncio.to_thread(
            http_json,
            f"{two.base_url}/api/jobs/{site.job_id}/members/",
            token=site.tokens["demo"],
            data={"username": ANNOTATOR, "role": "auditor"},
        )
        await asyncio.wait_for(client.connection.wait_closed(), timeout=10)
        return client.connection.close_code, asyncio.get_running_loop().time() - started


def test_a_lowered_role_closes_the_socket_on_another_process(site: Site) -> None:
    try:
        code, seconds = asyncio.run(asyncio.wait_for(revoke_across_processes(site), timeout=30))
    finally:
        http_json(
            f"{site.servers[0].base_url}/api/jobs/{site.job_id}/members/",
            token=site.tokens["demo"],
            data={"username": ANNOTATOR, "role": "annotator"},
        )

    assert code == 4403, "closed with the documented code for revoked access"
    print(f"closed {seconds * 1000:.0f} ms after the role was lowered on the other process")
