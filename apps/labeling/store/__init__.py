"""The event store, in four parts a reader can take one at a time:

- `chain`: the rows a command appends, hash-chained (`rows_for`), their wire form (`event_dict`), and reading
  whole streams back to export or verify them (`log_rows`, `chains_verify`);
- `load`: a stream's state at any seq, from the nearest snapshot plus the events after it, folded by one
  function (`fold`), for one item, a run of seqs, or many items at once;
- `cache`: the process's latest state of each item (`state_cache`), used only at the seq the database says;
- `write`: the command path's statements: the item's head (`item_head_read`) and the one write of a decided
  command (`commit(plan)`), which owns every statement of it.

Callers use the names below (`store.commit`, `store.state_load`, ...), never the parts' private helpers.
"""

from .cache import Cached, StateCache, state_cache
from .chain import (
    GENESIS_HASH,
    ChainReport,
    LogRow,
    NewEvent,
    chain_verify,
    chains_verify,
    event_dict,
    event_hash,
    iso,
    log_rows,
    row_event,
    row_hash,
    rows_for,
)
from .load import (
    events_after,
    fold,
    item_last_seq,
    job_attribute_specs,
    snapshot_due,
    snapshot_every,
    state_advance,
    state_current,
    state_load,
    state_load_with_hash,
    states_before,
    states_load_many,
)
from .rows import item_attribute_rows_sync, item_label_rows_sync, job_tally_add
from .write import (
    CommitPlan,
    ItemHead,
    command_applied,
    commit,
    item_head_lock,
    item_head_read,
    job_label_class_ids,
    label_slots,
    snapshot_save,
)

__all__ = [
    "GENESIS_HASH",
    "Cached",
    "ChainReport",
    "CommitPlan",
    "ItemHead",
    "LogRow",
    "NewEvent",
    "StateCache",
    "chain_verify",
    "chains_verify",
    "command_applied",
    "commit",
    "event_dict",
    "event_hash",
    "events_after",
    "fold",
    "item_head_lock",
    "item_head_read",
    "item_attribute_rows_sync",
    "item_label_rows_sync",
    "iso",
    "item_last_seq",
    "job_attribute_specs",
    "job_label_class_ids",
    "job_tally_add",
    "label_slots",
    "log_rows",
    "row_event",
    "row_hash",
    "rows_for",
    "snapshot_due",
    "snapshot_every",
    "snapshot_save",
    "state_advance",
    "state_cache",
    "state_current",
    "state_load",
    "state_load_with_hash",
    "states_before",
    "states_load_many",
]
