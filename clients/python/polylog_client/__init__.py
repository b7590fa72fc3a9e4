"""The Python client of a polylog server, for scripts and tests: a plain package, not a Django app.

It imports no Django and nothing of the server but the pure domain (`apps.labeling.domain`), whose fold it
uses to rebuild an item's state from the events received, so the client and the server cannot disagree on
what an event does (tests/unit/test_layering.py holds this)::

    from apps.client import LabelingClient, token_get

    token = token_get("http://127.0.0.1:8000", "demo", "demo-polylog")
    async with LabelingClient.connect("http://127.0.0.1:8000", item_id, token) as client:
        await client.hello()                       # every stored event, then live ones
        ack = await client.command({"type": "add_vertex", "shape_id": shape_id, "x": 10, "y": 20})
        await client.wait_for_seq(ack.seq)
        print(client.state_view())

`command()` returns the `ack` or raises `CommandRejected` (a domain `Rejected` with the same code and
message, plus the command id); when the connection drops first it raises ConnectionError, and the command
may or may not have been applied: send it again with the same `command_id`, which the server applies at
most once. A new connection continues from a dropped one with `take_over(earlier)` then `hello()`, which
asks only for the events missed. It connects directly, without any HTTP proxy of the environment.

- `http.py`: `http_json` (a JSON request) and `token_get` (an API token), standard library only;
- `websocket.py`: `LabelingClient` (one websocket on one item), its `Ack` and `CommandRejected`.
"""

from __future__ import annotations

from .http import http_json, token_get
from .websocket import Ack, CommandRejected, LabelingClient

__all__ = ["Ack", "CommandRejected", "LabelingClient", "http_json", "token_get"]
