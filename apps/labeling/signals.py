"""Signals the labeling core sends after commit about jobs; live collaboration (live.py) subscribes to them.
(A command's broadcasts are not a signal: its service returns them, see live.ItemEvents.)"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a sync created items. kwargs: job_id, added, total.
job_items_added = Signal()

# Sent after images were deleted from a job. kwargs: job_id, item_ids, deletion (who and when: the item
# socket's item_deleted frame, services.items.deletion_told).
items_deleted = Signal()

# Sent after a job's label classes changed (created, renamed, recoloured, deleted). kwargs: job_id.
label_classes_changed = Signal()

# Sent inside the transaction that changes a member's role or removes them (services.jobs), with the job's
# row held (the lock assignments take first), so what receivers write commits with the change, or neither.
# apps/review releases the seats the member's new role cannot hold (docs/review.md, "Assignments").
# Also sent, for each of their jobs, when a member's account is deactivated (job_members_deactivate).
# kwargs: job, user_id, role (None: removed, or their account deactivated: they do no more work), by (who
# made the change; None when not known).
member_changed = Signal()

# Sent when an item socket's user joins the item's presence ("joined"), shows it is still open ("alive",
# at most once a PRESENCE_ALIVE_SECONDS, from its pings and cursors) and leaves it ("left"): apps/review
# records who has which image open, for "Start labeling" to pass over images another person is on.
# kwargs: item_id, user_id, channel, what. Sent from the socket's thread for database work, never raised.
item_presence = Signal()
