"""/api/asyncapi.json: the websocket protocol (docs/protocol.md) as an AsyncAPI 3.0 document.

The frames are described here; what a `command` frame carries and what an `event` frame carries are the
`Command` and `Event` unions of the OpenAPI document (/api/schema/), copied from it with every schema they
refer to, so that both documents say the same of a command and an event: they are built from the same
serializers (serializers/commands.py), themselves built from the domain's command and event classes.

The document describes the server: `receive` operations are the frames it reads from a client, `send`
operations those it writes. OpenAPI 3.0's schema dialect differs from AsyncAPI's (JSON Schema draft 7) in
two words, converted on the way: `nullable` becomes a `null` type, and `discriminator` the property name
alone.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

ASYNCAPI_VERSION = "3.0.0"
REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties), **extra}


def _const(value: str) -> dict[str, Any]:
    return {"type": "string", "const": value}


INT = {"type": "integer"}
NUMBER = {"type": "number"}
STRING = {"type": "string"}
USER = _obj({"id": INT, "username": STRING})
ANY_TARGET = {
    "item_id": {**INT, "description": "the socket's item; another is refused (wrong_item)"},
}
JOB_TARGET = {"job_id": {**INT, "description": "the socket's job; another is refused (wrong_job)"}}

# Frames a client sends on an item socket, by type: (its fields, which are required, what it does).
ITEM_CLIENT_FRAMES: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "hello": (
        {"since_seq": {**INT, "minimum": 0, "default": 0}, **ANY_TARGET},
        [],
        "Ask for every stored event after since_seq (then caught_up, then live events).",
    ),
    "command": (
        {
            "command_id": {**STRING, "minLength": 1, "maxLength": 64, "description": "the client's id"},
            "command": _ref("Command"),
            "expected_seq": {**INT, "minimum": 0, "maximum": 2**31 - 1},
            **ANY_TARGET,
        },
        ["command_id", "command"],
        "A command, as POST /api/items/<id>/commands/ takes it; answered by ack or rejected.",
    ),
    "cursor": ({"x": NUMBER, "y": NUMBER, **ANY_TARGET}, ["x", "y"], "Where the pointer is (image pixels)."),
    "ping": (dict(ANY_TARGET), [], "Keeps a quiet socket open; answered by pong."),
}
JOB_CLIENT_FRAMES: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "ping": (dict(JOB_TARGET), [], "Keeps a quiet socket open; answered by pong."),
}

ATTRIBUTE = _obj(
    {
        "name": STRING,
        "kind": {"type": "string", "enum": ["checkbox", "select", "number", "text"]},
        "default": {"type": ["boolean", "number", "string"]},
        "options": {"type": "array", "items": STRING},
        "min": {"type": ["number", "null"]},
        "max": {"type": ["number", "null"]},
    },
    ["name", "kind", "default"],
    description="An attribute the class declares (docs/domain.md, 'Attributes').",
)
LABEL_CLASS = _obj(
    {
        "id": INT,
        "name": STRING,
        "color": {**STRING, "pattern": "^#[0-9a-f]{6}$"},
        "attributes": {"type": "array", "items": ATTRIBUTE},
    },
    ["id", "name", "color"],
)
ERROR_FRAME = (
    {"code": STRING, "message": STRING, "command_id": STRING},
    ["code", "message"],
    "A frame refused (invalid_json, invalid_frame, unknown_type, rate_limited with the command_id, "
    "wrong_item, idle_timeout, access_revoked, since_seq_ahead, permission_denied, frame_too_large; "
    "internal_error, with the command_id when the frame was a command: nothing of it was stored).",
)
PONG_FRAME: tuple[dict[str, Any], list[str], str] = ({}, [], "The answer to ping.")
LABEL_CLASSES_FRAME = (
    {"label_classes": {"type": "array", "items": LABEL_CLASS}},
    ["label_classes"],
    "The job's label classes after one was created, renamed, recoloured, given attributes or deleted.",
)

# Frames the server sends on an item socket.
ITEM_SERVER_FRAMES: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "event": ({"event": _ref("Event")}, ["event"], "An event of the item's stream, in seq order."),
    "caught_up": ({"seq": INT}, ["seq"], "The catch-up after hello has sent every event up to seq."),
    "ack": (
        {"command_id": STRING, "seq": INT},
        ["command_id", "seq"],
        "The command was applied (seq: its event's), or changed nothing (seq: the current one).",
    ),
    "rejected": (
        {"command_id": STRING, "code": STRING, "message": STRING},
        ["command_id", "code", "message"],
        "The command was refused; nothing of it is stored (codes of docs/domain.md).",
    ),
    "presence": (
        {
            "event": {"type": "string", "enum": ["here", "join", "leave"]},
            "user": USER,
            "users": {"type": "array", "items": USER},
        },
        ["event", "user", "users"],
        "Who is on the item: here (already there, or yourself), join, leave.",
    ),
    "cursor": ({"user": USER, "x": NUMBER, "y": NUMBER}, ["user", "x", "y"], "Another person's pointer."),
    "error": ERROR_FRAME,
    "pong": PONG_FRAME,
    "label_classes": LABEL_CLASSES_FRAME,
    "item_deleted": (
        {
            "item_id": INT,
            "by": USER,
            "deleted_at": {**STRING, "format": "date-time"},
            "deletion_id": {**INT, "description": "the record's id (GET /api/jobs/{job_id}/deletions/)"},
        },
        ["item_id", "by", "deleted_at", "deletion_id"],
        "The image was deleted from its job (by whom, when): commands are refused from now on (item_deleted);"
        " its stored history stays readable. Sent when it happens, and after caught_up to a socket that"
        " says hello on a deleted image.",
    ),
}
JOB_SERVER_FRAMES: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "item": (
        {
            "item": {
                "type": "object",
                "properties": {
                    "id": INT,
                    "seq": INT,
                    "saved_seq": INT,
                    "status": STRING,
                    "shape_count": INT,
                    "label_class_ids": {"type": "array", "items": INT},
                    "hard_example": {"type": "boolean"},
                    "labeled_by": {"type": ["integer", "null"]},
                    "labeled_at": {"type": ["string", "null"]},
                    "review_status": {"enum": ["none", "to_review", "accepted", "rejected"]},
                    "open_issues": INT,
                },
                "required": ["id", "seq"],
            }
        },
        ["item"],
        "An item's status, counts or closed shapes changed (a command's seq).",
    ),
    "counts": (
        {
            "status_counts": {"type": "object", "additionalProperties": INT},
            "review_counts": {
                "type": "object",
                "properties": {"to_review": INT, "accepted": INT, "rejected": INT},
                "required": ["to_review", "accepted", "rejected"],
                "description": "images per review tab (issue 24)",
            },
            "label_counts": {
                "type": "object",
                "additionalProperties": INT,
                "description": "images per label class id",
            },
        },
        ["status_counts", "review_counts", "label_counts"],
        "The job's per-status, per-review and per-label counts, when they change.",
    ),
    "items_added": ({"added": INT, "total": INT}, ["added", "total"], "A synchronisation added items."),
    "items_deleted": (
        {"item_ids": {"type": "array", "items": INT}},
        ["item_ids"],
        "Images deleted from the job.",
    ),
    "thumbnails": (
        {"items": {"type": "array", "items": _obj({"id": INT, "thumbnail_url": STRING})}},
        ["items"],
        "Items whose image got its thumbnail.",
    ),
    "export_progress": (
        {
            "export_id": INT,
            "done": INT,
            "total": INT,
            "status": {**STRING, "enum": ["running", "done", "failed"]},
            "download_url": {**STRING, "description": "the zip, for the job's members (status done)"},
            "size": {**INT, "description": "bytes of the zip (status done)"},
            "error": {**STRING, "description": "why it failed (status failed)"},
        },
        ["export_id", "done", "total", "status"],
        "How far a large export of the job is, made on the task queue (docs/api.md, Large exports).",
    ),
    "assignments": (
        {
            "by": {
                "anyOf": [USER, {"type": "null"}],
                "description": "the manager who assigned, or who removed, demoted or deactivated a member whose"
                " seats were emptied (null: not known, as from a script)",
            },
            "batch": {**STRING, "description": "the request's batch in the assignment record"},
            "changed": {**INT, "description": "seats whose holder changed"},
            "change": {**INT, "description": "the id of the batch's last row in the record"},
            "items": {
                "anyOf": [
                    {
                        "type": "array",
                        "items": _obj(
                            {
                                "id": INT,
                                "assignee": {"type": ["integer", "null"]},
                                "assignee_name": {"type": ["string", "null"]},
                                "reviewer": {"type": ["integer", "null"]},
                                "reviewer_name": {"type": ["string", "null"]},
                                "change": {
                                    **INT,
                                    "description": "the record's last row for the image (grows in commit order)",
                                },
                            }
                        ),
                    },
                    {"type": "null"},
                ],
                "description": "each image whose seats changed, with its seats now; null when more than "
                "500 changed (read the items list again)",
            },
        },
        ["by", "batch", "changed", "change", "items"],
        "A manager assigned or unassigned images (docs/review.md, Assignments).",
    ),
    "error": ERROR_FRAME,
    "pong": PONG_FRAME,
    "label_classes": LABEL_CLASSES_FRAME,
}

SOCKETS = {
    "item": ("/ws/items/{item_id}/", "item_id", ITEM_CLIENT_FRAMES, ITEM_SERVER_FRAMES),
    "job": ("/ws/jobs/{job_id}/", "job_id", JOB_CLIENT_FRAMES, JOB_SERVER_FRAMES),
}


def _frame_component(socket: str, side: str, kind: str) -> str:
    prefix = "Job" if socket == "job" else ""
    return f"{prefix}{''.join(p.title() for p in kind.split('_'))}{side}Frame"


def json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as a JSON Schema draft 7 one (AsyncAPI's default schema format)."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: json_schema(v) for k, v in schema.items() if k not in ("nullable", "discriminator")}
    if isinstance(schema.get("discriminator"), dict):
        out["discriminator"] = schema["discriminator"]["propertyName"]
    if schema.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _referenced(schemas: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """The named schemas and every schema they refer to, transitively."""
    found: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = schemas[name]
        stack = [schemas[name]]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith(REF):
                    todo.append(ref[len(REF) :])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return dict(sorted(found.items()))


@functools.cache
def _openapi_components() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return _referenced(schema["components"]["schemas"], ["Command", "Event", "Error"])


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI document (without servers, which depend on the request)."""
    schemas = {name: json_schema(s) for name, s in copy.deepcopy(_openapi_components()).items()}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for socket, (address, parameter, client_frames, server_frames) in SOCKETS.items():
        channel_messages = {}
        for side, frames in (("Client", client_frames), ("Server", server_frames)):
            names = []
            for kind, (properties, required, summary) in frames.items():
                name = _frame_component(socket, side, kind)
                schemas[name] = _obj({"type": _const(kind), **properties}, ["type", *required])
                messages[name] = {
                    "name": kind,
                    "title": f"{kind} ({'client to server' if side == 'Client' else 'server to client'})",
                    "summary": summary,
                    "contentType": "application/json",
                    "payload": _ref(name),
                }
                channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
                names.append(name)
            action = "receive" if side == "Client" else "send"
            operations[f"{socket}{side}Frames"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{socket}"},
                "summary": f"{'frames clients send on' if side == 'Client' else 'frames the server sends on'} "
                f"the {socket} socket",
                "messages": [{"$ref": f"#/channels/{socket}/messages/{name}"} for name in names],
            }
        channels[socket] = {
            "address": address,
            "title": f"one {socket}'s socket",
            "parameters": {parameter: {"description": f"the {socket}'s id"}},
            "messages": channel_messages,
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{settings.SPECTACULAR_SETTINGS['TITLE']} websocket protocol",
            "version": settings.SPECTACULAR_SETTINGS["VERSION"],
            "description": "Live collaboration on an item or a job (docs/protocol.md). JSON text frames, "
            "each an object with a `type`. Operations are the server's: it receives client frames and "
            "sends server frames. Commands and events are those of the OpenAPI document at /api/schema/.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "token": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "?token=<token of POST /api/auth/token/> (API clients)",
                },
                "session": {
                    "type": "httpApiKey",
                    "name": "sessionid",
                    "in": "cookie",
                    "description": "the browser's session cookie",
                },
            },
        },
    }


class AsyncApiView(APIView):
    """The AsyncAPI document of the websocket protocol, public as /api/schema/ is."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(exclude=True)  # a reference beside the OpenAPI document, not an endpoint of it
    def get(self, request: Request) -> Response:
        document = asyncapi_document()
        secure = request.is_secure()
        document["servers"] = {
            "this": {
                "host": request.get_host(),
                "protocol": "wss" if secure else "ws",
                "security": [
                    {"$ref": "#/components/securitySchemes/token"},
                    {"$ref": "#/components/securitySchemes/session"},
                ],
            }
        }
        return Response(document)
