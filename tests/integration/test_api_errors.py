"""Every refusal under /api/ leaves as JSON {"code", "message"}, whatever layer refuses."""

from __future__ import annotations

from typing import Any

import pytest

from apps.labeling.models import StoredEvent
from tests.conftest import new_id

pytestmark = pytest.mark.django_db


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json"), response.content[:80]
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]


def test_an_unsupported_media_type_is_refused_with_a_code(item: Any, annotator_api: Any) -> None:
    response = annotator_api.post(f"/api/items/{item.pk}/commands/", "save", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_a_method_the_endpoint_lacks_is_refused_with_a_code(job: Any, manager_api: Any) -> None:
    assert_error(manager_api.delete(f"/api/jobs/{job.pk}/"), 405, "method_not_allowed")


def test_a_validation_error_names_the_fields(item: Any, annotator_api: Any) -> None:
    response = annotator_api.post(
        f"/api/items/{item.pk}/commands/", {"command": {"type": "save"}}, format="json"
    )

    assert_error(response, 400, "invalid_request")
    assert "command_id" in response.json()["message"]
    assert "command_id" in response.json()["fields"]


def test_an_unknown_api_path_is_refused_with_a_code(annotator_api: Any) -> None:
    assert_error(annotator_api.get("/api/no-such-thing/"), 404, "not_found")


def test_a_body_too_large_is_refused_with_a_code(item: Any, annotator_api: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    command = {"type": "add_vertex", "shape_id": new_id(), "x": 1, "y": 1}
    body = {"command_id": new_id(), "command": command, "padding": "x" * 2000}

    response = annotator_api.post(f"/api/items/{item.pk}/commands/", body, format="json")

    assert response.status_code in (400, 413)
    assert StoredEvent.objects.count() == 0
    assert response["Content-Type"].startswith("application/json"), response.content[:80]
    assert set(response.json()) >= {"code", "message"}


def test_an_unexpected_failure_under_api_is_a_json_500_without_its_details(
    item: Any, annotator_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.labeling.api import views

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.services, "item_command_handle", broken)
    annotator_api.raise_request_exception = False

    response = annotator_api.post(
        f"/api/items/{item.pk}/commands/",
        {"command_id": new_id(), "command": {"type": "save"}},
        format="json",
    )

    assert_error(response, 500, "internal_error")
    assert "a bug" not in response.json()["message"]
