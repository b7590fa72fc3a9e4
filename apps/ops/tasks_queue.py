"""The task queue's module (apps/tasks/queue.py) when this tree has one, else None."""

from __future__ import annotations

import importlib
from types import ModuleType


def task_queue() -> ModuleType | None:
    """apps.tasks.queue, or None where the tasks app is not in the tree: its checks do not apply then.

    Imported by name so that this app does not import the tasks app before tests/unit/test_layering.py
    places it in the layers; an ImportError raised inside the module itself still surfaces."""
    try:
        return importlib.import_module("apps.tasks.queue")
    except ModuleNotFoundError as missing:
        if missing.name in ("apps.tasks", "apps.tasks.queue"):
            return None
        raise
