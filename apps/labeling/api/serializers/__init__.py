"""Request and response shapes of the labeling API (DESIGN section 8), by what they describe:

- `jobs.py`: a job, its label classes and members, a sync;
- `items.py`: a job's item list (filters, page, counts) and deleting items;
- `commands.py`: one item's stream: a command and its result, the events, the state they fold to;
- `audit.py`: audit and replay (timeline, diff, activity, integrity).

The names below are those api/views.py reads as `s.<Name>`; other modules import from the module itself.
"""

from __future__ import annotations

from .commands import (
    CommandRequestSerializer,
    CommandResultSerializer,
    EventPageSerializer,
    EventsQuerySerializer,
    ItemStateSerializer,
    StateQuerySerializer,
)
from .items import (
    ItemDeletionSerializer,
    ItemListQuerySerializer,
    ItemPageSerializer,
    ItemsDeletedSerializer,
    ItemsDeleteSerializer,
    ItemSerializer,
)
from .jobs import (
    JobCreateSerializer,
    JobSerializer,
    JobUpdateSerializer,
    LabelClassDeleteSerializer,
    LabelClassSerializer,
    MemberSerializer,
    MemberSetSerializer,
    SyncResultSerializer,
)

__all__ = [
    "CommandRequestSerializer",
    "CommandResultSerializer",
    "EventPageSerializer",
    "EventsQuerySerializer",
    "ItemDeletionSerializer",
    "ItemListQuerySerializer",
    "ItemPageSerializer",
    "ItemSerializer",
    "ItemStateSerializer",
    "ItemsDeleteSerializer",
    "ItemsDeletedSerializer",
    "JobCreateSerializer",
    "JobSerializer",
    "JobUpdateSerializer",
    "LabelClassDeleteSerializer",
    "LabelClassSerializer",
    "MemberSerializer",
    "MemberSetSerializer",
    "StateQuerySerializer",
    "SyncResultSerializer",
]
