"""Absurdly deep JSON on every write route of the OpenAPI schema: a 400 {code, message}, never a 500 page,
and nothing changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.datasets.models import DataImport
from apps.labeling.models import StoredEvent
from tests.assist_model_servers import shared_fake_model

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000
WRITES = ("post", "put", "patch", "delete")


@pytest.fixture
def path_ids(job: Any, item: Any, labels: dict[str, Any], dataset: Any, manager: Any) -> dict[str, int]:
    record = DataImport.objects.create(dataset=dataset, actor=manager, source=DataImport.Source.UPLOAD)
    return {
        "job_id": job.pk,
        "item_id": item.pk,
        "dataset_id": dataset.pk,
        "label_class_id": labels["cat"].pk,
        "member_id": job.memberships.exclude(user=manager).first().pk,
        "import_id": record.pk,
    }


def write_routes() -> list[tuple[str, str, bool]]:
    """(method, path template, whether the operation takes a request body) of every write in the schema."""
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return [
        (method, path, "requestBody" in operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in WRITES
    ]


def test_the_schema_has_write_routes_to_try() -> None:
    routes = write_routes()

    assert len([route for route in routes if route[2]]) >= 8
    assert ("post", "/api/auth/token/", True) in routes


@pytest.mark.parametrize("signed_in", [True, False], ids=["staff", "anonymous"])
def test_every_write_route_answers_deep_json_with_a_400_and_changes_nothing(
    staff: Any, path_ids: dict[str, int], signed_in: bool, settings: Any
) -> None:
    # The Model tool's route answers only where a model server is configured (a fake one on loopback).
    settings.POLYLOG_ASSIST_MODEL_URL = shared_fake_model().url
    client = APIClient()
    if signed_in:
        client.force_authenticate(staff)
    events_before = StoredEvent.objects.count()

    answers = {}
    for method, template, takes_body in write_routes():
        path = re.sub(r"\{(\w+)\}", lambda match: str(path_ids[match.group(1)]), template)
        response = getattr(client, method)(path, DEEP, content_type="application/json")
        answers[f"{method.upper()} {template}"] = (
            response.status_code,
            response.get("Content-Type", ""),
            takes_body,
        )
        if takes_body and (signed_in or template == "/api/auth/token/"):
            assert response.status_code == 400, (path, response.content[:300])
            assert response.json()["code"] == "malformed_json"
            assert "nested too deeply" in response.json()["message"]

    assert all(status < 500 for status, _, _ in answers.values()), answers
    assert all(kind.startswith("application/json") for status, kind, _ in answers.values() if status != 204)
    assert StoredEvent.objects.count() == events_before
