"""Websocket authentication: the session cookie for browsers, `?token=<token>` for API clients; and, for a
socket that stays open, whether what authenticated it still holds (the origin check is in origin.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.crypto import constant_time_compare


@database_sync_to_async
def _user_for_token(token: str) -> tuple[Any, int | None]:
    from apps.accounts.tokens import token_user

    found = token_user(token)
    return (AnonymousUser(), None) if found is None else (found[0], found[1].pk)


class TokenAuthMiddleware(BaseMiddleware):
    """A `token` query parameter authenticates the connection (and wins over a session cookie); an
    unknown, expired or revoked token leaves it anonymous, which the consumers refuse (4401).

    Daphne's access log records the path without the query string, so the token stays out of it.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            user, token_id = await _user_for_token(query["token"][0])
            scope = dict(scope, user=user, auth_token_id=token_id)
        return await super().__call__(scope, receive, send)


def credentials_current(scope: dict[str, Any]) -> bool:
    """Whether what authenticated an open socket still holds: its token not revoked nor expired, or its
    session still the user's (a password change ends sessions, as Django's own check of the session's
    hash at every request does). Synchronous: it reads the database."""
    from knox.models import AuthToken

    user = scope["user"]
    token_id = scope.get("auth_token_id")
    if token_id is not None:
        return AuthToken.objects.filter(pk=token_id, user_id=user.pk, expiry__gt=timezone.now()).exists()
    session = scope.get("session")
    if session is None or session.get(SESSION_KEY) != str(user.pk):
        return False
    current = get_user_model()._default_manager.filter(pk=user.pk, is_active=True).first()
    stored = session.get(HASH_SESSION_KEY)
    return (
        current is not None
        and bool(stored)
        and constant_time_compare(stored, current.get_session_auth_hash())
    )
