"""Logs as JSON lines with POLYLOG_LOG_FORMAT=json (apps/common/logs.py), plain text otherwise."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory

from apps.common.logs import JsonFormatter, log_context
from tests.live_servers import ROOT, server_env

# Logs a line, a line with extra context, an exception, and a request error as Django's handler does.
SCRIPT = """
import logging
from django.test import RequestFactory
log = logging.getLogger("polylog.test")
log.warning("plain %s", "words")
log.info("a command", extra={"command_id": "c-1", "item_id": 7})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("it failed\\non two lines")
request = RequestFactory().post("/api/items/7/commands/")
logging.getLogger("django.request").error("Internal Server Error: %s", request.path,
    extra={"status_code": 500, "request": request})
"""


def logged(tmp_path: Path, **settings: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SCRIPT],
        cwd=ROOT,
        env=server_env(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_with_json_format_every_line_is_one_object_with_time_level_logger_and_message(tmp_path: Path) -> None:
    lines = logged(tmp_path, POLYLOG_LOG_FORMAT="json")

    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON

    assert len(records) == 4
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)
        assert record["time"].endswith("+00:00")
    plain, command, failure, request = records
    assert (plain["level"], plain["logger"], plain["message"]) == ("WARNING", "polylog.test", "plain words")
    assert (command["command_id"], command["item_id"]) == ("c-1", 7)
    assert failure["message"] == "it failed\non two lines"
    assert "ZeroDivisionError" in failure["exc_info"]
    assert (request["logger"], request["method"], request["path"], request["status_code"]) == (
        "django.request",
        "POST",
        "/api/items/7/commands/",
        500,
    )


def test_without_the_setting_logs_stay_plain_text(tmp_path: Path) -> None:
    lines = logged(tmp_path)

    assert lines[0] == "plain words"
    with pytest.raises(ValueError):
        json.loads(lines[0])


def test_an_unknown_format_is_refused_at_start_with_a_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=server_env(tmp_path, POLYLOG_LOG_FORMAT="xml"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert "POLYLOG_LOG_FORMAT is 'text' or 'json', not 'xml'" in done.stderr


def test_a_websockets_context_rides_on_its_lines() -> None:
    record = logging.LogRecord("apps.common.websocket", logging.ERROR, __file__, 1, "frame failed", (), None)
    record.frame, record.command_id = "command", "c-9"

    token = log_context.set({"socket": "/ws/items/3/", "user_id": 5})
    try:
        line: dict[str, Any] = json.loads(JsonFormatter().format(record))
    finally:
        log_context.reset(token)

    assert (line["socket"], line["user_id"], line["frame"], line["command_id"]) == (
        "/ws/items/3/",
        5,
        "command",
        "c-9",
    )


def test_a_requests_user_is_named_only_when_already_loaded() -> None:
    request = RequestFactory().get("/api/jobs/")
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found", (), None)
    record.request = request

    line = json.loads(JsonFormatter().format(record))

    assert "user_id" not in line  # reading request.user here would be a database query per line
    assert (line["method"], line["path"]) == ("GET", "/api/jobs/")
