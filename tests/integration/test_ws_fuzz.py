"""A websocket fuzzer (issue 8, point 3): random frames on the item and job sockets (hypothesis).

Each example opens a socket and sends a few frames drawn from everything a client could send: text that is
no JSON, binary, any JSON value, objects with a real frame type and random fields, and command frames around
near-valid commands (the parser fuzzer's strategy). After every frame a ping follows; everything the server
says before the pong must be a frame of the protocol, every error or refusal a code and a message, never an
internal_error, and the socket must stay open. At the end of the example the item's log is exactly what
the acks said: contiguous seqs, no event that no ack announced.

Bounded for the suite (derandomized, a few dozen examples); POLYLOG_FUZZ_EXAMPLES raises it for a longer
hunt.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.figures import figure
from tests.integration.test_ws_support import Peer, Sockets, stored_events
from tests.unit.test_fuzz_commands import any_json, near_valid_command

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("POLYLOG_FUZZ_EXAMPLES", "40"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

SERVER_FRAMES = {
    "ack",
    "rejected",
    "error",
    "event",
    "caught_up",
    "presence",
    "cursor",
    "pong",
    "label_classes",
    "item_deleted",
    "item",
    "counts",
    "items_deleted",
    "items_added",
}
CLIENT_TYPES = ["hello", "command", "cursor", "ping", "presence", "event", "subscribe", ""]

# What the fuzzers sent and got, for `make bench` (tests/figures.py).
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    figure("ws fuzz: random frames sent (item and job sockets)", TRIED["frames"], "frames")
    figure("ws fuzz: refusals answered with a code and a message", TRIED["refusals"], "frames")
    figure("ws fuzz: internal errors, closed sockets, inconsistent logs", 0, "", "0", True)


command_ids = st.one_of(st.uuids().map(str), st.text(max_size=70), any_json)


@st.composite
def command_frame(draw: st.DrawFn) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "command", "command_id": draw(command_ids)}
    frame["command"] = draw(st.one_of(near_valid_command(), near_valid_command(), any_json))
    if draw(st.booleans()):
        frame["expected_seq"] = draw(st.one_of(st.integers(-2, 30), any_json))
    if draw(st.integers(0, 4)) == 0:
        frame["item_id"] = draw(st.one_of(st.integers(), any_json))
    return frame


@st.composite
def typed_frame(draw: st.DrawFn) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": draw(st.one_of(st.sampled_from(CLIENT_TYPES), st.text(max_size=10)))}
    for key in draw(
        st.lists(st.sampled_from(["since_seq", "x", "y", "item_id", "job_id", "seq"]), max_size=3)
    ):
        frame[key] = draw(st.one_of(st.integers(-3, 50), st.floats(), any_json))
    return frame


def as_text(value: Any) -> str:
    # Python's json writes NaN and Infinity, which a sloppy client might send too.
    return json.dumps(value)


frames = st.one_of(
    command_frame().map(as_text),
    command_frame().map(as_text),
    typed_frame().map(as_text),
    any_json.map(as_text),
    st.text(min_size=1, max_size=60),
    st.binary(min_size=1, max_size=40),
)


async def check_the_answers_to(peer: Peer, frame: str | bytes, acks: dict[str, int]) -> None:
    """Send `frame`, then a ping; every frame before the pong must be well formed."""
    TRIED["frames"] += 1
    if isinstance(frame, bytes):
        await peer.send_bytes(frame)
    else:
        await peer.send_text(frame)
    await peer.send({"type": "ping"})
    while True:
        answer = await peer._read()
        assert isinstance(answer, dict) and answer.get("type") in SERVER_FRAMES, answer
        if answer["type"] in ("error", "rejected"):
            assert isinstance(answer["code"], str) and answer["code"], answer
            assert isinstance(answer["message"], str) and answer["message"], answer
            assert answer["code"] != "internal_error", (frame, answer)
            TRIED["refusals"] += 1
        if answer["type"] == "ack":
            acks[answer["command_id"]] = answer["seq"]
        if answer["type"] == "pong":
            return


def log_is_what_the_acks_said(events: list[dict[str, Any]], acks: dict[str, int], before: int) -> None:
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(1, len(seqs) + 1)), "the log has a gap"
    new = seqs[before:]
    # A command that changed nothing is acked with the seq the item was at: `before`, or one of the new.
    assert set(acks.values()) <= {before, *new}
    assert max(new, default=before) == max(acks.values(), default=before), "an event no ack announced"


@FUZZ_SETTINGS
@given(sent=st.lists(frames, min_size=1, max_size=6))
def test_random_frames_on_the_item_socket_get_protocol_answers_and_leave_a_consistent_log(
    item: Any, annotator: Any, labels: Any, sent: list[str | bytes]
) -> None:
    async def example() -> None:
        sockets = Sockets()
        try:
            before = len(await stored_events(item.pk))
            peer = await sockets.item(annotator, item.pk, since_seq=None)
            acks: dict[str, int] = {}
            for frame in sent:
                await check_the_answers_to(peer, frame, acks)
            log_is_what_the_acks_said(await stored_events(item.pk), acks, before)
        finally:
            await sockets.close_all()

    async_to_sync(example)()


@FUZZ_SETTINGS
@given(sent=st.lists(frames, min_size=1, max_size=6))
def test_random_frames_on_the_job_socket_get_protocol_answers(
    job: Any, item: Any, manager: Any, sent: list[str | bytes]
) -> None:
    async def example() -> None:
        sockets = Sockets()
        try:
            peer = await sockets.job(manager, job.pk)
            acks: dict[str, int] = {}
            for frame in sent:
                await check_the_answers_to(peer, frame, acks)
            assert not acks  # the job socket takes no commands
        finally:
            await sockets.close_all()

    async_to_sync(example)()
