"""Signals the labeling core sends after commit; live collaboration subscribes to them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per command that appended events, after its transaction committed, in seq order per item.
# kwargs: item_id, job_id, events (wire dicts), item (the item's read-model dict)
events_committed = Signal()
