"""POST /api/auth/token/, and the three ways a request is (or is not) authenticated."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


def test_it_gives_a_token_for_good_credentials(annotator: Any) -> None:
    from knox.models import AuthToken

    response = APIClient().post(
        TOKEN_URL, {"username": annotator.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiry"}
    assert AuthToken.objects.filter(user=annotator).count() == 1


def test_it_refuses_a_wrong_password_with_a_code(annotator: Any) -> None:
    response = APIClient().post(
        TOKEN_URL, {"username": annotator.username, "password": "nope"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert body["message"]
    assert not annotator.auth_token_set.exists()


def test_it_refuses_an_unknown_user_with_the_same_code_as_a_wrong_password(db: Any) -> None:
    response = APIClient().post(TOKEN_URL, {"username": "nobody", "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_it_refuses_missing_fields_with_a_code(annotator: Any) -> None:
    response = APIClient().post(TOKEN_URL, {"username": annotator.username}, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {"code", "message"}


def test_it_refuses_a_malformed_json_body(annotator: Any) -> None:
    response = APIClient().post(TOKEN_URL, b'{"username": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_a_token_authenticates_api_requests(job: Any, annotator: Any) -> None:
    client = APIClient()
    token = client.post(TOKEN_URL, {"username": annotator.username, "password": PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")

    response = client.get("/api/jobs/")

    assert response.status_code == 200
    assert [j["id"] for j in response.json()] == [job.pk]


def test_an_unknown_token_is_refused_with_a_code(job: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")

    response = client.get("/api/jobs/")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["message"]


def test_a_session_login_authenticates_api_requests(job: Any, annotator: Any) -> None:
    client = APIClient()
    assert client.login(username=annotator.username, password=PASSWORD)

    response = client.get("/api/jobs/")

    assert response.status_code == 200
    assert [j["id"] for j in response.json()] == [job.pk]


def test_a_session_login_can_send_commands(
    item: Any, labels: dict[str, Any], annotator: Any, send: Any
) -> None:
    client = APIClient()
    client.login(username=annotator.username, password=PASSWORD)

    sent = send(client, item.pk, {"type": "mark_hard_example"})

    assert sent.status == 201
    assert sent.body["events"][0]["actor"] == annotator.pk


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/api/jobs/"),
        ("get", "/api/datasets/"),
        ("get", "/api/items/1/state/"),
        ("post", "/api/items/1/commands/"),
    ],
)
def test_anonymous_requests_are_refused_with_a_code(db: Any, method: str, url: str) -> None:
    response = getattr(APIClient(), method)(url, {}, format="json")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["message"]
