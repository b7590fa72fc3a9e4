"""The server's own rules handed to the Python client (polylog_client), so that a test's client rebuilds an
item's state exactly as the server does: the client package depends on nothing of the server, and this is
where the two meet."""

from __future__ import annotations

from typing import Any

from apps.labeling.domain import (
    SCHEMA_VERSION,
    ItemState,
    event_from_record,
    evolve,
    initial_state,
    state_view,
)


class DomainFold:
    """polylog_client.Fold with the pure domain: an event record is read as the server stores it."""

    def initial(self, width: float, height: float) -> ItemState:
        return initial_state(width, height)

    def evolve(self, state: ItemState, event: dict[str, Any]) -> ItemState:
        return evolve(
            state, event_from_record(event["type"], SCHEMA_VERSION, event["payload"], event["actor"])
        )

    def view(self, state: ItemState, item_id: int) -> dict[str, Any]:
        return state_view(state, item_id)


DOMAIN_FOLD = DomainFold()
