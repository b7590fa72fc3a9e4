"""Writes to the labeling core, one service per write, by noun:

- `commands`: an item's labels change only through `item_command_handle` (and its bulk form,
  `item_commands_apply`): decide against the current state, then hand the store one plan to write;
- `jobs`: jobs, their label classes and members, and syncing a job with its dataset;
- `items`: deleting images from a job.
"""

from .commands import BatchResult, CommandResult, item_command_handle, item_commands_apply, limits
from .items import ItemsDeleted, items_delete
from .jobs import (
    LABEL_SLOTS,
    job_create,
    job_member_remove,
    job_member_set,
    job_members_deactivate,
    job_sync,
    job_update,
    jobs_items_for_images,
    jobs_sync_after_import,
    label_class_create,
    label_class_delete,
    label_class_update,
)

__all__ = [
    "LABEL_SLOTS",
    "BatchResult",
    "CommandResult",
    "ItemsDeleted",
    "item_command_handle",
    "item_commands_apply",
    "items_delete",
    "job_create",
    "job_member_remove",
    "job_member_set",
    "job_members_deactivate",
    "job_sync",
    "job_update",
    "jobs_items_for_images",
    "jobs_sync_after_import",
    "label_class_create",
    "label_class_delete",
    "label_class_update",
    "limits",
]
