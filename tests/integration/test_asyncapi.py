"""/api/asyncapi.json: the websocket protocol as an AsyncAPI 3.0 document (issue 22, point 9), built from the
same definitions as the OpenAPI document, and what the sockets really send validates against it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import pytest_asyncio
from rest_framework.test import APIClient

from apps.labeling.api.asyncapi import json_schema
from apps.labeling.consumers import ItemConsumer, JobConsumer
from tests.conftest import new_id
from tests.integration.test_ws_support import Sockets, polygon


@pytest.fixture(scope="module")
def document(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/asyncapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


@pytest.fixture(scope="module")
def openapi(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", {"format": "json"}).json()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return _resolve(document, node["$ref"]) if isinstance(node, dict) and "$ref" in node else node


def test_the_document_is_asyncapi_3_with_both_sockets(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert {c["address"] for c in document["channels"].values()} == {
        "/ws/items/{item_id}/",
        "/ws/jobs/{job_id}/",
    }
    assert document["servers"]["this"]["protocol"] == "ws"
    assert document["servers"]["this"]["host"] == "testserver"


def test_the_document_is_valid_by_the_asyncapi_3_json_schema(document: dict[str, Any]) -> None:
    specification = json.loads((Path(__file__).parent / "specs" / "asyncapi-3.0.0.json").read_text())
    validator = jsonschema.Draft7Validator(specification)

    assert [error.message[:200] for error in validator.iter_errors(document)] == []
    broken = {**document, "operations": {"x": {"action": "publish", "channel": {"$ref": "#/channels/item"}}}}
    assert list(validator.iter_errors(broken)), "the specification's schema does check operations"


def test_every_reference_in_the_document_resolves(document: dict[str, Any]) -> None:
    refs = _refs(document)

    assert refs
    for ref in refs:
        _resolve(document, ref)


def test_operations_name_messages_of_their_own_channel_and_cover_every_message(
    document: dict[str, Any],
) -> None:
    covered = set()
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        assert operation["action"] in ("send", "receive"), name
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/"), name
            covered.add(message["$ref"])
    every = {
        f"#/channels/{c}/messages/{m}"
        for c, channel in document["channels"].items()
        for m in channel["messages"]
    }

    assert covered == every


def test_commands_and_events_are_the_openapi_documents_own(
    document: dict[str, Any], openapi: dict[str, Any]
) -> None:
    ours, theirs = document["components"]["schemas"], openapi["components"]["schemas"]

    for name in ("Command", "Event", *[r.rsplit("/", 1)[-1] for r in _refs(theirs["Event"])]):
        assert ours[name] == json_schema(theirs[name]), name
    assert ours["Command"]["discriminator"] == ours["Event"]["discriminator"] == "type"


def _frame_types(document: dict[str, Any], socket: str, action: str) -> set[str]:
    operation = next(
        o
        for o in document["operations"].values()
        if o["channel"]["$ref"] == f"#/channels/{socket}" and o["action"] == action
    )
    return {_resolve(document, m["$ref"])["name"] for m in operation["messages"]}


def test_the_client_frames_are_those_the_consumers_handle(document: dict[str, Any]) -> None:
    assert _frame_types(document, "item", "receive") == set(ItemConsumer.frame_handlers(ItemConsumer()))
    assert _frame_types(document, "job", "receive") == set(JobConsumer.frame_handlers(JobConsumer()))


def _validator(document: dict[str, Any], component: str) -> jsonschema.Draft7Validator:
    root = {**document, "$ref": f"#/components/schemas/{component}"}
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker())


def _check(document: dict[str, Any], frames: list[dict[str, Any]], socket: str, side: str) -> None:
    prefix = "Job" if socket == "job" else ""
    for frame in frames:
        name = prefix + "".join(p.title() for p in frame["type"].split("_")) + side + "Frame"
        assert name in document["components"]["schemas"], f"{frame['type']} is not in the document"
        _validator(document, name).validate(frame)


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_what_the_sockets_send_and_take_is_what_the_document_says(
    document: dict[str, Any], sockets: Sockets, item: Any, labels: Any, annotator: Any, annotator2: Any
) -> None:
    job_peer = await sockets.job(annotator, item.job_id)
    peer = await sockets.item(annotator, item.pk)
    other = await sockets.item(annotator2, item.pk)
    shape = new_id()
    sent = [
        {
            "type": "command",
            "command_id": "a-1",
            "command": polygon(shape, labels["cat"].pk, [[1, 1], [20, 1], [20, 20]]),
        },
        {
            "type": "command",
            "command_id": "a-2",
            "command": {"type": "move_shape", "shape_id": shape, "dx": 2, "dy": 3},
        },
        {"type": "command", "command_id": "a-3", "command": {"type": "undo"}},
        {"type": "command", "command_id": "a-4", "command": {"type": "save"}},
        {"type": "command", "command_id": "a-5", "command": {"type": "delete_shape", "shape_id": new_id()}},
        {"type": "cursor", "x": 5.5, "y": 7},
        {"type": "ping"},
        {"type": "hello", "since_seq": 0},
    ]
    _check(document, sent, "item", "Client")
    for frame in sent:
        await peer.send(frame)
    await peer.send({"type": "nonsense"})
    assert (await peer.answer("a-5"))["type"] == "rejected"
    await peer.next("pong")
    await other.next("cursor")
    await other.socket.disconnect()
    other.closed = True

    received = peer.frames + await peer.drain()
    job_frames = await job_peer.drain()

    assert {"event", "ack", "rejected", "pong", "error", "caught_up", "presence"} <= {
        f["type"] for f in received
    }
    assert {e["event"]["type"] for e in received if e["type"] == "event"} >= {
        "polygon_added",
        "shape_moved",
        "undone",
        "saved",
    }
    _check(document, received, "item", "Server")
    assert {"item", "counts"} <= {f["type"] for f in job_frames + job_peer.frames}
    _check(document, job_frames + job_peer.frames, "job", "Server")


def test_a_frame_the_document_does_not_allow_fails_its_validation(document: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validator(document, "CommandClientFrame").validate(
            {"type": "command", "command_id": "x", "command": {"type": "add_vertex", "shape_id": new_id()}}
        )
    with pytest.raises(jsonschema.ValidationError):
        _validator(document, "EventServerFrame").validate(
            {"type": "event", "event": {"seq": 1, "type": "saved", "actor": 1, "created_at": "now"}}
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("post", "/api/asyncapi.json", {}, 405, "method_not_allowed"),
        ("delete", "/api/asyncapi.json", {}, 405, "method_not_allowed"),
        ("get", "/api/asyncapi.json?format=yaml", {}, 404, "not_found"),
        ("get", "/api/asyncapi.json", {"HTTP_ACCEPT": "text/html"}, 406, "not_acceptable"),
        ("get", "/api/asyncapi.json", {"HTTP_AUTHORIZATION": "Token wrong"}, 401, "authentication_failed"),
    ],
)
def test_what_the_document_route_refuses_is_a_code_and_a_message(
    method: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    response = getattr(APIClient(), method)(path, **headers)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
