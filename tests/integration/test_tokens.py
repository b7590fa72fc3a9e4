"""API tokens: one per login, each with a lifetime; DELETE /api/auth/token/ revokes the one sent, and a
password change or a deactivation revokes them all, on REST and on the websocket handshake alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.integration.test_ws_support import refused

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


def log_in(user: Any, password: str = PASSWORD) -> str:
    response = APIClient().post(TOKEN_URL, {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def as_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def jobs_status(token: str) -> int:
    return as_token(token).get("/api/jobs/").status_code


def expire_every_token_of(user: Any) -> None:
    from knox.models import AuthToken

    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))


# One token per login -----------------------------------------------------------------------------


def test_two_logins_get_two_tokens_that_both_work(annotator: Any) -> None:
    first, second = log_in(annotator), log_in(annotator)

    assert first != second
    assert (jobs_status(first), jobs_status(second)) == (200, 200)


def test_a_token_expires_after_the_configured_lifetime(settings: Any, annotator: Any) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "TOKEN_TTL_HOURS": 2}
    before = timezone.now()

    response = APIClient().post(
        TOKEN_URL, {"username": annotator.username, "password": PASSWORD}, format="json"
    )

    expiry = annotator.auth_token_set.get().expiry
    assert before + timedelta(hours=2) <= expiry <= timezone.now() + timedelta(hours=2)
    assert response.json()["expiry"] == expiry.isoformat().replace("+00:00", "Z")


def test_a_login_clears_the_users_expired_tokens(annotator: Any) -> None:
    old = log_in(annotator)
    expire_every_token_of(annotator)

    new = log_in(annotator)

    assert [jobs_status(old), jobs_status(new)] == [401, 200]
    assert annotator.auth_token_set.count() == 1


# Refused tokens ----------------------------------------------------------------------------------


def test_an_expired_token_is_refused_with_a_code(annotator: Any) -> None:
    token = log_in(annotator)
    expire_every_token_of(annotator)

    response = as_token(token).get("/api/jobs/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["message"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_expired_token_is_refused_on_the_websocket_handshake(item: Any, annotator: Any) -> None:
    token = await database_sync_to_async(log_in)(annotator)
    await database_sync_to_async(expire_every_token_of)(annotator)

    assert await refused(f"/ws/items/{item.pk}/?token={token}") == 4401


def test_a_token_header_that_is_not_ascii_is_refused_with_a_code(db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token caf\u00e9")

    response = client.get("/api/jobs/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


# DELETE /api/auth/token/ -------------------------------------------------------------------------


def test_delete_revokes_only_the_token_it_is_sent_with(annotator: Any) -> None:
    kept, revoked = log_in(annotator), log_in(annotator)

    response = as_token(revoked).delete(TOKEN_URL)

    assert response.status_code == 204
    assert (jobs_status(revoked), jobs_status(kept)) == (401, 200)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_revoked_token_is_refused_on_the_websocket_handshake(item: Any, annotator: Any) -> None:
    token = await database_sync_to_async(log_in)(annotator)
    await database_sync_to_async(as_token(token).delete)(TOKEN_URL)

    assert await refused(f"/ws/items/{item.pk}/?token={token}") == 4401


def test_delete_without_a_token_is_refused_and_revokes_nothing(annotator: Any) -> None:
    token = log_in(annotator)
    browser = APIClient()
    browser.force_login(annotator)  # a session, but no token to revoke

    response = browser.delete(TOKEN_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert jobs_status(token) == 200


# Password changes and deactivation revoke every token -----------------------------------------------


def test_set_password_and_save_revoke_every_token(annotator: Any) -> None:
    tokens = [log_in(annotator), log_in(annotator)]

    annotator.set_password("a-new-passphrase")
    annotator.save()

    assert [jobs_status(token) for token in tokens] == [401, 401]
    assert jobs_status(log_in(annotator, "a-new-passphrase")) == 200


def test_the_admin_password_form_revokes_every_token(make_user: Any, annotator: Any) -> None:
    from django.test import Client

    token = log_in(annotator)
    admin = Client()
    admin.force_login(make_user("root_admin", is_staff=True, is_superuser=True))

    response = admin.post(
        f"/admin/auth/user/{annotator.pk}/password/",
        {"password1": "a-new-passphrase", "password2": "a-new-passphrase", "usable_password": "true"},
    )

    assert response.status_code == 302, response.content
    assert jobs_status(token) == 401


def test_manage_py_changepassword_revokes_every_token(monkeypatch: Any, annotator: Any) -> None:
    from django.contrib.auth.management.commands import changepassword
    from django.core.management import call_command

    token = log_in(annotator)
    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": "a-new-passphrase")

    call_command("changepassword", annotator.username)

    assert jobs_status(token) == 401


def test_deactivating_a_user_revokes_every_token(annotator: Any) -> None:
    token = log_in(annotator)

    annotator.is_active = False
    annotator.save()
    annotator.is_active = True
    annotator.save()

    assert jobs_status(token) == 401
    assert not annotator.auth_token_set.exists()


def test_saving_a_user_for_anything_else_keeps_the_tokens(annotator: Any) -> None:
    token = log_in(annotator)

    annotator.email = "ann@example.org"
    annotator.save()
    annotator.last_login = timezone.now()
    annotator.save(update_fields=["last_login"])

    assert jobs_status(token) == 200


def test_a_password_rehash_at_login_keeps_the_tokens(settings: Any, annotator: Any) -> None:
    """A login re-hashes a password whose hasher is no longer the first one; that is no password change."""
    token = log_in(annotator)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]

    log_in(annotator)

    annotator.refresh_from_db()
    assert annotator.password.startswith("scrypt$")  # the login did re-hash it
    assert jobs_status(token) == 200
