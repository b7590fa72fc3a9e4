"""Websocket authentication: the session cookie for browsers, `?token=<token>` for API clients; and an
origin check that refuses cross-site browser pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(token: str) -> Any:
    from apps.accounts.tokens import token_user

    found = token_user(token)
    return AnonymousUser() if found is None else found[0]


class TokenAuthMiddleware(BaseMiddleware):
    """A `token` query parameter authenticates the connection (and wins over a session cookie); an
    unknown, expired or revoked token leaves it anonymous, which the consumers refuse (4401).

    Daphne's access log records the path without the query string, so the token stays out of it.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            scope = dict(scope, user=await _user_for_token(query["token"][0]))
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin on a websocket handshake, so a page from another site is refused here.
    A handshake without Origin comes from a program (the Python client, a script), which has to
    authenticate with a token or a session it already holds, so it is let through."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def origin_validator(application: Any) -> BrowserOriginValidator:
    allowed = list(settings.ALLOWED_HOSTS)
    for origin in settings.CSRF_TRUSTED_ORIGINS:
        host = urlparse(origin).netloc.split(":")[0] or origin
        # Django's "https://*.example.com" is channels' ".example.com" (the domain and its subdomains).
        allowed.append(host[1:] if host.startswith("*.") else host)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed)
