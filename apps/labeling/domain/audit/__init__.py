"""The auditor's reading of a stream, pure like the rest of the domain:

- `summary.py`: a summary of each event in people's words (`event_summary`), and the facts a timeline groups
  its rows by (`draft_step`, `shape_number`); all read the state just before the event;
- `words.py`: how a shape, a vertex, a point and a count are written, and the phrase for one undoable action
  (`action_phrase`, which an undo's summary quotes);
- `diff.py`: the difference between two states' closed shapes (`state_diff`).

The read side (apps/labeling/audit.py) uses the four names below.
"""

from __future__ import annotations

from .diff import state_diff
from .summary import draft_step, event_summary, shape_number

__all__ = ["draft_step", "event_summary", "shape_number", "state_diff"]
