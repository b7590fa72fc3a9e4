"""The task functions by kind: each app registers its own when Django starts (its AppConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import TaskRun


@dataclass(frozen=True, slots=True)
class Task:
    kind: str
    function: Callable[[TaskRun], None]
    # Whether a run whose worker died may simply run again: the function then reads its checkpoint and
    # goes on from there, its work so far being committed with the checkpoint that says so.
    resumable: bool
    # Called with the run and the reason when the sweep gives a run up (its worker died and it is not
    # resumable, or died too often): the task's own records (an import's) say failed too.
    on_given_up: Callable[[TaskRun, str], None] | None
    # A kind of the low-priority lane: bulk work nobody waits on (an import's thumbnails), which every other
    # kind's runs go ahead of (apps/tasks/backends.py: RQ's second queue, the embedded pool's own threads).
    low: bool = False


tasks: dict[str, Task] = {}


def task_low(kind: str) -> bool:
    """Whether runs of `kind` go in the low-priority lane (an unknown kind does not: it fails at once)."""
    task = tasks.get(kind)
    return task is not None and task.low


def task(
    kind: str,
    *,
    resumable: bool = True,
    on_given_up: Callable[[TaskRun, str], None] | None = None,
    low: bool = False,
) -> Callable[[Callable[[TaskRun], None]], Callable[[TaskRun], None]]:
    """Register the decorated function as the task `kind`; `low` puts its runs in the low-priority lane."""

    def register(function: Callable[[TaskRun], None]) -> Callable[[TaskRun], None]:
        if kind in tasks and tasks[kind].function is not function:
            raise ValueError(f"task kind {kind!r} is registered twice")
        tasks[kind] = Task(kind, function, resumable, on_given_up, low)
        return function

    return register


# Housekeeping run with every sweep of task runs (in every worker, and in an embedded server): each app adds
# its own (an export's expired download deleted). A failure is logged and the next sweep tries again.
sweeps: list[Callable[[], object]] = []


def sweep(function: Callable[[], object]) -> Callable[[], object]:
    """Register the decorated function to run with every sweep (apps/tasks/services.py, tasks_sweep)."""
    if function not in sweeps:
        sweeps.append(function)
    return function
