"""Signals the labeling core sends after commit about jobs; live collaboration (live.py) subscribes to them.
(A command's broadcasts are not a signal: its service returns them, see live.ItemEvents.)"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a sync created items. kwargs: job_id, added, total.
job_items_added = Signal()

# Sent after images were deleted from a job. kwargs: job_id, item_ids.
items_deleted = Signal()

# Sent after a job's label classes changed (created, renamed, recoloured, deleted). kwargs: job_id.
label_classes_changed = Signal()
