"""Figures a test measures on its way, for `make bench` (tests/bench/reliability.py) to print.

A test calls `figure(...)`; it writes a JSON line only when POLYLOG_FIGURES names a file, so the suite
itself records nothing and asserts on its own terms.
"""

from __future__ import annotations

import json
import os
from typing import Any


def figure(
    name: str, value: Any, unit: str, target: str = "", ok: bool | None = None, *, database: str | None = None
) -> None:
    """One row of the bench table; `database` defaults to the one this test process runs on."""
    path = os.environ.get("POLYLOG_FIGURES")
    if not path:
        return
    if database is None:
        database = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    row = {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, "database": database}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
