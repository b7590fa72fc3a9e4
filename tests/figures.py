"""Figures a test measures on its way, for `make bench` (tests/bench/reliability.py) to print.

A test calls `figure(...)`; it writes a JSON line only when POLYLOG_FIGURES names a file, so the suite
itself records nothing and asserts on its own terms.

Under pytest a figure is held until the session ends and then written only if no test of its module failed
(in its setup, its call or its teardown): a figure such as "internal errors: 0", written when a fuzz
module's fixture is torn down, must not outlive the failure that disproves it. The hooks below, which
tests/conftest.py imports, tell this module which test is running and which failed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import Any

import pytest

# (the module that measured it, the row), in the order measured; the module is None outside pytest.
_held: list[tuple[str | None, dict[str, Any]]] = []
_failed_modules: set[str] = set()
_running_module: list[str | None] = [None]


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
    module = _running_module[0]
    if module is None:
        _write(path, [row])
    else:
        _held.append((module, row))


def _write(path: str, rows: list[dict[str, Any]]) -> None:
    with open(path, "a", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    # A module-scoped fixture is torn down within the protocol of the module's last test.
    _running_module[0] = str(item.path)
    try:
        return (yield)
    finally:
        _running_module[0] = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed:
        _failed_modules.add(str(item.path))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("POLYLOG_FIGURES")
    passed = [row for module, row in _held if module not in _failed_modules]
    _held.clear()
    if path and passed:
        _write(path, passed)
