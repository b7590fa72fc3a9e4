"""Logs as JSON lines (POLYLOG_LOG_FORMAT=json): one object a line, with the request's or socket's context.

Every line has `time` (UTC, ISO 8601), `level`, `logger` and `message`; a traceback rides in `exc_info` on
the same line. Context comes where it costs nothing on the way: Django's request loggers hand over the
request (method, path, status), a websocket consumer sets `log_context` once when it accepts (its path and
user), and a call may add fields with `extra=` (command_id, item_id, ...).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Set once per websocket when it is accepted: the consumer's task (and every log line of it) carries it.
log_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

# What `extra=` may add to a line, when a caller passes it.
EXTRA_FIELDS = (
    "command_id",
    "item_id",
    "job_id",
    "user_id",
    "code",
    "frame",
    "status_code",
    "task",
    "run_id",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = log_context.get()
        if context:
            line.update(context)
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            line["method"] = request.method
            line["path"] = getattr(request, "path", None)
            user = getattr(request, "_cached_user", None)  # only if already loaded: never a query here
            if user is not None and getattr(user, "pk", None) is not None:
                line["user_id"] = user.pk
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)
