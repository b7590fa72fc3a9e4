"""The server's Prometheus metrics (prometheus_client) and the one-line calls that feed them.

Each process keeps its own figures in prometheus_client's default registry (with the library's process
and Python collectors), and serves them itself at /metrics (apps/ops/views.py; docs/operations.md,
"Metrics", says why per process). Recording stays off the command path's cost: the children of the fixed
labels are made once here, so an observation is a lock and an add, not a label lookup. Task durations are
not here: tasks run in other processes, so they are counted in the database (apps/tasks/durations.py).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

# From a command received to its ack sent: a websocket command answers in a few milliseconds on the
# embedded setup, a REST one in tens, a slow one under load in hundreds.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TRANSPORTS = ("ws", "rest")

command_seconds = Histogram(
    "polylog_command_ack_seconds",
    "Commands acked (stored, or a retried command_id answered again), by transport: seconds from the"
    " command received to its ack sent.",
    ["transport"],
    buckets=ACK_BUCKETS,
)
command_refusals = Counter(
    "polylog_command_refusals_total",
    "Commands refused, by transport and refusal code (as the answer names it).",
    ["transport", "code"],
)
broadcasts = Counter(
    "polylog_broadcasts_total",
    "Messages sent to channel-layer groups (live updates to open sockets), by message type.",
    ["type"],
)
open_sockets = Gauge("polylog_open_websockets", "Websockets open on this process now (item and job sockets).")

_acked = {transport: command_seconds.labels(transport) for transport in TRANSPORTS}
_broadcasts_by_type: dict[str, Counter] = {}


def command_acked(transport: str, seconds: float) -> None:
    _acked[transport].observe(seconds)


def command_refused(transport: str, code: str) -> None:
    command_refusals.labels(transport, code).inc()


def broadcast_sent(message_type: str) -> None:
    # A command sends one to three: the child by type is kept here (labels() takes a lock and builds a key).
    child = _broadcasts_by_type.get(message_type)
    if child is None:
        child = _broadcasts_by_type[message_type] = broadcasts.labels(message_type)
    child.inc()


def open_sockets_from(count: Callable[[], int]) -> None:
    """Read the gauge from `count` at each scrape (apps/common/websocket.py's registry of open sockets):
    nothing to keep in step when a socket opens or closes."""
    open_sockets.set_function(count)
