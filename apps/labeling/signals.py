"""Signals the labeling core sends after commit; live collaboration (live.py) subscribes to them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per command that appended events, after its transaction committed, in seq order per item.
# kwargs: item_id, job_id, events (wire dicts), item (the item's read-model dict), item_changed (what a job
# page shows of the item changed: status, shape count, labels, hard example, last save), counts_changed
# (the item's status or labels changed, so the job's per-status and per-label counts did too).
events_committed = Signal()

# Sent after a sync created items. kwargs: job_id, added, total.
job_items_added = Signal()

# Sent after images were deleted from a job. kwargs: job_id, item_ids.
items_deleted = Signal()

# Sent after a job's label classes changed (created, renamed, recoloured, deleted). kwargs: job_id.
label_classes_changed = Signal()
