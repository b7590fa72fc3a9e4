"""What the OpenAPI document says a client may send and will receive (issue 22, point 9): JSON only where
only JSON is read, and commands and events as unions discriminated on `type`, each with the fields of the
domain's own command or event class (so the schema's list cannot drift from the parser's)."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from typing import Any

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.labeling.api.asyncapi import json_schema
from apps.labeling.api.serializers.commands import UNDESCRIBED
from apps.labeling.domain import COMMAND_TYPES, EVENT_TYPES
from apps.labeling.domain.events import payload_fields
from apps.labeling.models import LabelingJob, StoredEvent
from tests.conftest import PASSWORD, new_id, png_bytes, square

pytestmark = pytest.mark.django_db

# The one endpoint that reads files: an import's upload (multipart, field `files`), or a path as JSON.
UPLOADS = {("post", "/api/datasets/{dataset_id}/imports/")}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _component(schema: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def test_json_endpoints_take_json_only_and_uploads_also_multipart(schema: dict[str, Any]) -> None:
    media = {
        (method, path): sorted(operation["requestBody"]["content"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }

    assert {op for op, types in media.items() if types != ["application/json"]} == UPLOADS
    for op in UPLOADS:
        assert media[op] == ["application/json", "multipart/form-data"]


def test_the_token_route_needs_no_credentials_in_the_schema(schema: dict[str, Any]) -> None:
    # An operation with a security requirement makes generators ask for an authenticated client to log in.
    assert "security" not in schema["paths"]["/api/auth/token/"]["post"]


def test_a_form_body_on_a_json_endpoint_is_refused_and_changes_nothing(staff_api: Any, staff: Any) -> None:
    before = LabelingJob.objects.count()

    response = staff_api.post("/api/jobs/", {"name": "by form"}, format="multipart")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert LabelingJob.objects.count() == before


def test_a_form_login_is_refused(manager: Any) -> None:
    response = APIClient().post(
        "/api/auth/token/",
        "username=" + manager.username + "&password=" + PASSWORD,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_command_sent_as_a_form_is_refused_and_stores_nothing(item: Any, annotator_api: Any) -> None:
    response = annotator_api.post(
        f"/api/items/{item.pk}/commands/",
        {"command_id": "c1", "command": json.dumps({"type": "save"})},
        format="multipart",
    )

    assert response.status_code == 415
    assert not StoredEvent.objects.filter(item=item).exists()


def test_an_upload_still_takes_multipart(dataset: Any, manager_api: Any, job: Any) -> None:
    upload = SimpleUploadedFile("new.png", png_bytes(8, 8), content_type="image/png")
    response = manager_api.post(
        f"/api/datasets/{dataset.pk}/imports/", {"files": [upload]}, format="multipart"
    )

    assert response.status_code == 202, response.content


def test_the_command_union_lists_the_parsers_commands_with_their_fields(schema: dict[str, Any]) -> None:
    command = schema["components"]["schemas"]["Command"]

    assert command["discriminator"]["propertyName"] == "type"
    mapping = command["discriminator"]["mapping"]
    assert set(mapping) == set(COMMAND_TYPES)
    assert len(command["oneOf"]) == len(COMMAND_TYPES)
    for kind, cls in COMMAND_TYPES.items():
        body = _component(schema, {"$ref": mapping[kind]})
        wanted = {f.name for f in fields(cls)}
        assert set(body["properties"]) == {"type", *wanted}, kind
        assert set(body["required"]) == {"type"} | {f.name for f in fields(cls) if f.default is MISSING}, kind
        assert _component(schema, body["properties"]["type"])["enum"] == [kind]


def test_the_event_union_lists_every_event_with_its_payload(schema: dict[str, Any]) -> None:
    event = schema["components"]["schemas"]["Event"]

    assert event["discriminator"]["propertyName"] == "type"
    mapping = event["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_TYPES)
    assert len(event["oneOf"]) == len(EVENT_TYPES)
    for kind, cls in EVENT_TYPES.items():
        body = _component(schema, {"$ref": mapping[kind]})
        assert {"seq", "type", "payload", "actor", "created_at"} <= set(body["required"]), kind
        assert _component(schema, body["properties"]["type"])["enum"] == [kind]
        payload = body["properties"]["payload"]
        payload = _component(schema, payload) if "$ref" in payload else payload
        assert set(payload["properties"]) == {name for name, _, _ in payload_fields(cls)}, kind
        assert set(payload.get("required", [])) == {name for name, always, _ in payload_fields(cls) if always}


def test_rule_fields_of_events_list_their_values(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    undo_unit = components["PolygonClosedPayload"]["properties"]["undo_unit"]

    assert set(_component(schema, undo_unit["allOf"][0])["enum"]) == {"polygon", "close"}
    parts = components["ShapeSplitPayload"]["properties"]["parts"]["items"]
    assert set(_component(schema, parts)["required"]) == {"shape_id", "points"}


def test_every_command_and_event_field_is_described(schema: dict[str, Any]) -> None:
    assert UNDESCRIBED not in json.dumps(schema)


def test_where_events_are_returned_they_are_the_typed_union(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    result = components["CommandResult"]["properties"]["events"]["items"]
    page = components["EventPage"]["properties"]["results"]["items"]

    assert result == page == {"$ref": "#/components/schemas/Event"}


def test_the_events_a_command_returns_are_what_the_schema_says(
    item: Any, labels: dict[str, Any], annotator_api: Any, schema: dict[str, Any]
) -> None:
    shape_id = new_id()
    answer = annotator_api.post(
        f"/api/items/{item.pk}/commands/",
        {
            "command_id": "s1",
            "command": {
                "type": "add_polygon",
                "shape_id": shape_id,
                "label_class_id": next(iter(labels.values())).pk,
                "points": square(10, 10, 20),
            },
        },
    )
    assert answer.status_code == 201
    # OpenAPI 3.0's words that JSON Schema lacks are converted as the AsyncAPI document converts them.
    document = {**json_schema(schema), "$ref": "#/components/schemas/CommandResult"}
    jsonschema.Draft7Validator(document, format_checker=jsonschema.FormatChecker()).validate(answer.json())


def test_every_command_and_event_says_what_it_does_without_pointing_outside_the_repository(
    schema: dict[str, Any],
) -> None:
    components = schema["components"]["schemas"]
    for union in ("Command", "Event"):
        for kind, ref in components[union]["discriminator"]["mapping"].items():
            description = _component(schema, {"$ref": ref}).get("description", "")
            assert len(description) > 15 and "docs/" not in description, (kind, description)
    assert "DESIGN" not in json.dumps(schema)
