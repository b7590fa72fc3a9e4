"""/api/schema/: the OpenAPI document is served and describes the public contract (DESIGN section 8)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# The REST paths of DESIGN section 8 that are served today.
CONTRACT_PATHS = [
    "/api/auth/token/",
    "/api/jobs/",
    "/api/jobs/{job_id}/",
    "/api/jobs/{job_id}/members/",
    "/api/jobs/{job_id}/label-classes/",
    "/api/jobs/{job_id}/items/",
    "/api/jobs/{job_id}/sync/",
    "/api/datasets/",
    "/api/items/{item_id}/state/",
    "/api/items/{item_id}/events/",
    "/api/items/{item_id}/commands/",
]


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_served_as_yaml_by_default() -> None:
    response = APIClient().get("/api/schema/")

    assert response.status_code == 200
    assert "openapi" in response["Content-Type"]
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "polylog API"


def test_the_schema_is_served_as_json_when_asked(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert "paths" in schema


@pytest.mark.parametrize("path", CONTRACT_PATHS)
def test_the_schema_lists_the_contract_paths(schema: dict[str, Any], path: str) -> None:
    assert path in schema["paths"]


def test_the_commands_endpoint_documents_its_answers(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/items/{item_id}/commands/"]["post"]["responses"]

    assert {"200", "201", "400", "403", "404", "409", "422"} <= set(responses)


def test_every_documented_refusal_of_the_commands_endpoint_is_code_and_message(
    schema: dict[str, Any],
) -> None:
    responses = schema["paths"]["/api/items/{item_id}/commands/"]["post"]["responses"]
    components = schema["components"]["schemas"]

    for status in ("400", "403", "404", "409", "422"):
        ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
        body = components[ref.rsplit("/", 1)[-1]]
        assert set(body["required"]) == {"code", "message"}, status


def test_the_command_request_names_its_fields(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/items/{item_id}/commands/"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    assert {"command_id", "command", "expected_seq"} <= set(body["properties"])
    assert set(body["required"]) == {"command_id", "command"}


def test_the_command_schema_documents_every_command_type_with_its_fields(schema: dict[str, Any]) -> None:
    from apps.labeling.domain import COMMAND_TYPES

    components = schema["components"]["schemas"]
    command = components["Command"]

    assert command["discriminator"]["propertyName"] == "type"
    assert set(command["discriminator"]["mapping"]) == set(COMMAND_TYPES)
    merge = components["MergeShapesCommand"]
    assert set(merge["required"]) == {"type", "shape_ids", "into"}
    assert merge["properties"]["shape_ids"]["minItems"] == 2
    assert set(components["SubtractShapeCommand"]["required"]) == {"type", "shape_id", "by"}
    split = components["SplitShapeCommand"]
    assert set(split["required"]) == {"type", "shape_id", "line"}
    assert split["properties"]["line"]["minItems"] == 2
    paste = components["PasteShapesCommand"]
    assert set(paste["required"]) == {"type", "shapes"}
    assert (paste["properties"]["shapes"]["minItems"], paste["properties"]["shapes"]["maxItems"]) == (1, 1000)
    pasted = components[paste["properties"]["shapes"]["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(pasted["required"]) == {"shape_id", "label_class_id", "points"}
    # An optional field of a command (group_id) is documented but not required.
    assert "group_id" in components["AddPolygonCommand"]["properties"]
    assert "group_id" not in components["AddPolygonCommand"]["required"]


def test_the_item_list_documents_its_filters(schema: dict[str, Any]) -> None:
    parameters = schema["paths"]["/api/jobs/{job_id}/items/"]["get"]["parameters"]

    names = {p["name"] for p in parameters}
    assert {"status", "hard_example", "label_class", "q", "labeled_by", "ordering"} <= names


def test_the_item_list_documents_its_paging_and_counts(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/jobs/{job_id}/items/"]["get"]

    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert body.get("type") == "object"
    assert {"count", "results", "status_counts", "label_counts"} <= set(body.get("properties", {}))


def test_the_state_endpoint_documents_at_seq_and_at_time(schema: dict[str, Any]) -> None:
    parameters = schema["paths"]["/api/items/{item_id}/state/"]["get"]["parameters"]

    assert {"at_seq", "at_time"} <= {p["name"] for p in parameters}


def test_the_schema_builds_without_warnings(tmp_path: Any) -> None:
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))  # raises on any


def test_the_token_route_documents_login_throttling_and_revocation(schema: dict[str, Any]) -> None:
    operations = schema["paths"]["/api/auth/token/"]

    assert {"200", "400", "429"} <= set(operations["post"]["responses"])
    assert {"204", "401"} <= set(operations["delete"]["responses"])
    assert operations["delete"]["security"] == [{"tokenAuth": []}]


def test_every_documented_refusal_is_the_one_error_body_with_a_sentence_saying_when(
    schema: dict[str, Any],
) -> None:
    undescribed = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    if ref != "#/components/schemas/Error" or not response["description"]:
                        undescribed.append(f"{method} {path} {status}: {ref} {response['description']!r}")

    assert undescribed == []
