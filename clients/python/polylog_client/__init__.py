"""The Python client of a polylog server, for scripts, tests and the `polylog` command (cli.py).

It depends on nothing of the server (`pip install ./clients/python` on any machine)::

    from polylog_client import Api, LabelingClient, token_get

    token = token_get("http://127.0.0.1:8000", "demo", "demo-polylog")
    api = Api("http://127.0.0.1:8000", token)
    print(api.get("jobs/"))
    async with LabelingClient.connect("http://127.0.0.1:8000", item_id, token) as client:
        await client.hello()                       # every stored event, then live ones
        ack = await client.command({"type": "add_vertex", "shape_id": shape_id, "x": 10, "y": 20})
        await client.wait_for_seq(ack.seq)
        async for event in client.follow():        # each event as it comes
            print(event["seq"], event["type"])

`command()` returns the `ack` or raises `CommandRejected` (the server's code and message, plus the command
id); when the connection drops first it raises ConnectionError, and the command may or may not have been
applied: send it again with the same `command_id`, which the server applies at most once. A new connection
continues from a dropped one with `take_over(earlier)` then `hello()`, which asks only for the events
missed. `state()` and `state_view()` rebuild the item's state from the events received with a `Fold` given
to `connect(fold=...)`: the server's own rules (its tests hand it polylog's domain, so client and server
cannot disagree on what an event does). Connections go directly, without any HTTP proxy of the environment.

- `http.py`: `Api` (REST as one user: JSON, uploads and downloads, refusals as `ApiError`), `http_json`
  and `token_get`, standard library only;
- `websocket.py`: `LabelingClient` (one websocket on one item), its `Ack`, `CommandRejected` and `Fold`;
- `cli.py`: the `polylog` command (docs/cli.md); `overlay.py`: an item's polygons drawn on its image.
"""

from __future__ import annotations

from .http import Api, ApiError, Unreachable, http_json, token_get
from .websocket import Ack, CommandRejected, Fold, LabelingClient

__all__ = [
    "Ack",
    "Api",
    "ApiError",
    "CommandRejected",
    "Fold",
    "LabelingClient",
    "Unreachable",
    "http_json",
    "token_get",
]
