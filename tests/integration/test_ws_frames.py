"""Malformed, oversized, binary and flooding frames on an item's websocket: each one gets exactly one answer,
the connection stays usable, and the event log does not change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import new_id, square
from tests.integration.test_ws_support import Peer, Sockets, polygon, raw_command, stored_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

BURST = 10_000
SHAPE = "5a4e1d9c-3b7f-4c2a-9e8d-1f6b2a3c4d5e"
LABEL_ID = "LABEL_ID"  # stands for the job's first label class in a frame written before the job exists


@pytest_asyncio.fixture(autouse=True)
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


async def assert_still_usable(peer: Peer, item: Any, label_class_id: int) -> None:
    """A ping gets its pong and a valid command its ack; the bad frames before them stored nothing."""
    await peer.send({"type": "ping"})
    assert await peer.next("pong", "error", "rejected") == {"type": "pong"}
    command_id = new_id()
    answer = await peer.command(polygon(new_id(), label_class_id, square(5, 5, 10)), command_id)
    assert answer == {"type": "ack", "command_id": command_id, "seq": 1}
    assert [event["type"] for event in await stored_events(item.pk)] == ["polygon_added"]


def command_frame(command_id: str | None = "c1", **extra: Any) -> str:
    frame: dict[str, Any] = {"type": "command", **extra}
    if command_id is not None:
        frame["command_id"] = command_id
    return json.dumps(frame)


VERTEX = {"type": "add_vertex", "shape_id": SHAPE, "x": 1, "y": 1}

BAD_FRAMES = {
    "not JSON": ("{type: ping", ("error", "invalid_json")),
    "truncated JSON": ('{"type": "ping"', ("error", "invalid_json")),
    "a JSON list": ('[{"type": "ping"}]', ("error", "invalid_frame")),
    "a JSON string": ('"ping"', ("error", "invalid_frame")),
    "no type": ('{"since_seq": 0}', ("error", "invalid_frame")),
    "a type that is no string": ('{"type": 7}', ("error", "invalid_frame")),
    "an unknown type": ('{"type": "dance"}', ("error", "unknown_type")),
    "a type of the job socket's server frames": ('{"type": "event"}', ("error", "unknown_type")),
    "a command without command_id": (command_frame(None, command=VERTEX), ("error", "invalid_frame")),
    "a command with an empty command_id": (command_frame("", command=VERTEX), ("error", "invalid_frame")),
    "a command with a 65-character command_id": (
        command_frame("x" * 65, command=VERTEX),
        ("error", "invalid_frame"),
    ),
    "a command with a numeric command_id": (command_frame(7, command=VERTEX), ("error", "invalid_frame")),
    "a command without command": (command_frame("c1"), ("rejected", "invalid_command")),
    "a command that is no object": (
        command_frame("c1", command="add_vertex"),
        ("rejected", "invalid_command"),
    ),
    "a command of an unknown type": (
        command_frame("c1", command={"type": "paint"}),
        ("rejected", "invalid_command"),
    ),
    "a command without its fields": (
        command_frame("c1", command={"type": "add_vertex"}),
        ("rejected", "invalid_command"),
    ),
    "an expected_seq that is no integer": (
        command_frame("c1", command=VERTEX, expected_seq="0"),
        ("rejected", "invalid_command"),
    ),
    "an expected_seq past REST's bound too": (
        command_frame("c1", command=VERTEX, expected_seq=2**31),
        ("rejected", "invalid_command"),
    ),
    "a NaN coordinate": (
        raw_command("c1", f'{{"type":"add_vertex","shape_id":"{SHAPE}","x":NaN,"y":1}}'),
        ("rejected", "non_finite_coordinate"),
    ),
    "an infinite coordinate": (
        raw_command("c1", f'{{"type":"add_vertex","shape_id":"{SHAPE}","x":1,"y":-Infinity}}'),
        ("rejected", "non_finite_coordinate"),
    ),
    "an overflowing coordinate": (
        raw_command("c1", f'{{"type":"add_vertex","shape_id":"{SHAPE}","x":1e999,"y":1}}'),
        ("rejected", "non_finite_coordinate"),
    ),
    "a NaN in a polygon": (
        raw_command(
            "c1",
            f'{{"type":"add_polygon","shape_id":"{SHAPE}","label_class_id":LABEL_ID,'
            '"points":[[1,1],[NaN,5],[5,5]]}',
        ),
        ("rejected", "non_finite_coordinate"),
    ),
    "a hello with since_seq 'x'": ('{"type": "hello", "since_seq": "x"}', ("error", "invalid_frame")),
    "a hello with a negative since_seq": ('{"type": "hello", "since_seq": -1}', ("error", "invalid_frame")),
    "a hello with a fractional since_seq": (
        '{"type": "hello", "since_seq": 1.5}',
        ("error", "invalid_frame"),
    ),
    "a hello with since_seq true": ('{"type": "hello", "since_seq": true}', ("error", "invalid_frame")),
    "a cursor without y": ('{"type": "cursor", "x": 1}', ("error", "invalid_frame")),
    "a cursor at NaN": ('{"type": "cursor", "x": NaN, "y": 1}', ("error", "invalid_frame")),
    "a cursor at a string": ('{"type": "cursor", "x": "1", "y": 1}', ("error", "invalid_frame")),
}


@pytest.mark.parametrize("text, expected", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
async def test_a_bad_frame_gets_its_error_and_the_connection_stays_usable(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, text: str, expected: tuple[str, str]
) -> None:
    peer = await sockets.item(annotator, item.pk)

    await peer.send_text(text.replace(LABEL_ID, str(labels["cat"].pk)))
    answer = await peer.next("error", "rejected", "ack", "caught_up")

    assert (answer["type"], answer["code"]) == expected
    assert answer["message"]
    if answer["type"] == "rejected":
        assert answer["command_id"] == "c1"
    await assert_still_usable(peer, item, labels["cat"].pk)


async def test_a_command_the_server_fails_on_is_answered_by_its_id_and_the_connection_stays_usable(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, monkeypatch: Any
) -> None:
    """A bug (or a database failure no retry cured) costs the command, not the client's wait: the error
    names the command_id, so a client stops waiting for its ack (and may send it again)."""
    from apps.labeling import consumers

    real = consumers._command_handle
    failures = iter([RuntimeError("a bug")])

    async def failing_once(**command: Any) -> Any:
        for failure in failures:
            raise failure
        return await real(**command)

    monkeypatch.setattr(consumers, "_command_handle", failing_once)
    peer = await sockets.item(annotator, item.pk)

    await peer.send_text(command_frame("c1", command=polygon(new_id(), labels["cat"].pk, square(5, 5, 10))))
    answer = await peer.next("error", "rejected", "ack")

    assert (answer["type"], answer["code"], answer["command_id"]) == ("error", "internal_error", "c1")
    assert await stored_events(item.pk) == []
    await assert_still_usable(peer, item, labels["cat"].pk)


async def test_a_stored_command_is_acked_even_when_its_broadcast_cannot_be_built(
    sockets: Sockets, item: Any, labels: Any, annotator: Any, monkeypatch: Any
) -> None:
    """The broadcast's messages are built after the commit (the job's counts are read then): a failure
    there must not answer the command with internal_error, which tells the client nothing was stored and
    makes it take back a shape the server holds (the person would draw it again: two shapes)."""
    from apps.labeling import live

    real = live.messages
    failures = iter([RuntimeError("the counts' read failed")])

    def failing_once(broadcasts: Any) -> Any:
        for failure in failures:
            raise failure
        return real(broadcasts)

    monkeypatch.setattr(live, "messages", failing_once)
    peer = await sockets.item(annotator, item.pk)

    await peer.send_text(command_frame("c1", command=polygon(new_id(), labels["cat"].pk, square(5, 5, 10))))
    answer = await peer.next("error", "rejected", "ack")

    assert answer == {"type": "ack", "command_id": "c1", "seq": 1}
    assert [event["seq"] for event in await stored_events(item.pk)] == [1]


async def test_a_binary_frame_gets_an_error_and_the_connection_stays_usable(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    await peer.send_bytes(json.dumps({"type": "ping"}).encode())
    answer = await peer.next("error", "pong")

    assert (answer["type"], answer["code"]) == ("error", "invalid_frame")
    await assert_still_usable(peer, item, labels["cat"].pk)


async def test_a_frame_within_the_size_limit_is_handled_and_one_over_it_closes_with_1009(
    sockets: Sockets, settings: Any, item: Any, labels: Any, annotator: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "WS_MAX_FRAME_BYTES": 300}
    peer = await sockets.item(annotator, item.pk)
    ping = '{"type": "ping", "padding": "%s"}'
    at_limit = ping % ("x" * (300 - len(ping % "")))

    await peer.send_text(at_limit)
    within = await peer.next("error", "pong")
    await assert_still_usable(peer, item, labels["cat"].pk)
    await peer.send_text(ping % ("x" * 1_000_000))
    code = await peer.close_code()

    assert len(at_limit.encode()) == 300
    assert within == {"type": "pong"}
    assert peer.frames[-1]["code"] == "frame_too_large"
    assert code == 1009


async def test_the_size_limit_counts_bytes_not_characters(
    sockets: Sockets, settings: Any, item: Any, annotator: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "WS_MAX_FRAME_BYTES": 300}
    peer = await sockets.item(annotator, item.pk)
    frame = '{"type": "ping", "padding": "%s"}' % ("\u00e9" * 200)  # 229 characters, 429 bytes

    await peer.send_text(frame)
    code = await peer.close_code()

    assert len(frame) <= 300 < len(frame.encode())
    assert (peer.frames[-1]["code"], code) == ("frame_too_large", 1009)


async def test_deeply_nested_json_within_the_size_limit_gets_an_error_and_the_connection_stays_usable(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    await peer.send_text("[" * 100_000)  # 100 kB: well within the default 256 KiB limit
    answer = await peer.next("error", "pong", timeout=1.0)

    assert (answer["type"], answer["code"]) == ("error", "invalid_json")
    await assert_still_usable(peer, item, labels["cat"].pk)


async def test_a_burst_of_ten_thousand_bad_frames_gets_ten_thousand_errors_and_the_connection_survives(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    for n in range(BURST):
        await peer.send_text(f"not json {n}")
    answers = await peer.take(BURST, "error", "pong", "ack", "rejected")

    assert Counter((answer["type"], answer["code"]) for answer in answers) == {
        ("error", "invalid_json"): BURST
    }
    await assert_still_usable(peer, item, labels["cat"].pk)


async def test_commands_past_the_rate_limit_each_get_rate_limited_and_none_is_dropped(
    sockets: Sockets, settings: Any, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    # A bucket of 5 that refills so slowly that no token comes back during the test.
    settings.POLYLOG = {**settings.POLYLOG, "WS_COMMANDS_PER_SECOND": 0.001, "WS_COMMAND_BURST": 5}
    peer = await sockets.item(annotator, item.pk)
    watcher = await sockets.item(annotator2, item.pk)
    command_ids = [f"burst-{n}" for n in range(BURST)]

    for n, command_id in enumerate(command_ids):
        x = 2 + (n % 9) * 10
        await peer.send(
            {
                "type": "command",
                "command_id": command_id,
                "command": polygon(new_id(), labels["cat"].pk, square(x, 5, 5)),
            }
        )
    answers = await peer.take(BURST, "ack", "rejected", "error")
    await peer.send({"type": "ping"})
    pong = await peer.next("pong")

    assert [answer["command_id"] for answer in answers] == command_ids  # one answer each, in order
    assert [answer["type"] for answer in answers[:5]] == ["ack"] * 5
    assert [answer["seq"] for answer in answers[:5]] == [1, 2, 3, 4, 5]
    assert Counter((answer["type"], answer["code"]) for answer in answers[5:]) == {
        ("error", "rate_limited"): BURST - 5
    }
    assert pong == {"type": "pong"}
    assert len(await stored_events(item.pk)) == 5
    assert [event["seq"] for event in await watcher.events(5)] == [1, 2, 3, 4, 5]
    assert await watcher.drain("event") == []


async def test_the_event_log_is_unchanged_by_every_kind_of_bad_frame_together(
    sockets: Sockets, item: Any, labels: Any, annotator: Any
) -> None:
    peer = await sockets.item(annotator, item.pk)

    for text, _ in BAD_FRAMES.values():
        await peer.send_text(text.replace(LABEL_ID, str(labels["cat"].pk)))
    answers = await peer.take(len(BAD_FRAMES), "error", "rejected", "ack", "caught_up")

    assert [(answer["type"], answer["code"]) for answer in answers] == [
        expected for _, expected in BAD_FRAMES.values()
    ]
    assert await stored_events(item.pk) == []
    await assert_still_usable(peer, item, labels["cat"].pk)
