"""API tokens (django-rest-knox's model): one per login, with a lifetime; stored only as a hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from hmac import compare_digest
from typing import Any

from django.conf import settings
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings

# The longest token knox can issue (a prefix and the random part); anything longer is no token of ours,
# and is refused before it is hashed.
MAX_TOKEN_CHARS = CONSTANTS.MAXIMUM_TOKEN_PREFIX_LENGTH + knox_settings.AUTH_TOKEN_CHARACTER_LENGTH


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once, to the client that logged in; the database keeps its digest
    expiry: datetime


def token_create(*, user: Any) -> IssuedToken:
    """A new token for `user`, alongside the ones it already has (each client logs in for its own).

    The user's expired tokens are deleted here: authentication only ever reads unexpired ones, so without
    this they would pile up, one per login."""
    now = timezone.now()
    AuthToken.objects.filter(user=user, expiry__lte=now).delete()
    lifetime = timedelta(hours=settings.POLYLOG["TOKEN_TTL_HOURS"])
    instance, token = AuthToken.objects.create(user=user, expiry=lifetime)
    return IssuedToken(token=token, expiry=instance.expiry)


def token_user(token: str) -> tuple[Any, AuthToken] | None:
    """The active user a token stands for, and its row; None for an unknown, expired or revoked token, or
    an inactive user. One query (the row by its indexed key, with its user) and one SHA-512."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    candidates = AuthToken.objects.filter(
        token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH], expiry__gt=timezone.now()
    ).select_related("user")
    digest = hash_token(token)
    for row in candidates:
        if compare_digest(digest, row.digest) and row.user.is_active:
            return row.user, row
    return None


def token_revoke(*, token: AuthToken) -> None:
    """Logs one client out: the token it authenticated with stops working at once."""
    token.delete()


def user_tokens_revoke(*, user_id: int) -> int:
    """Every token of a user stops working (a password change, a deactivation); how many there were."""
    deleted, _ = AuthToken.objects.filter(user_id=user_id).delete()
    return deleted
