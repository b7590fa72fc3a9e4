"""REST authentication by `Authorization: Token <token>`, over knox's tokens (apps/accounts/tokens.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import TokenScheme
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox import auth as knox_auth
from knox.models import AuthToken
from rest_framework import exceptions

from apps.accounts.tokens import token_user


class TokenAuthentication(knox_auth.TokenAuthentication):
    """knox's header parsing and WWW-Authenticate (so anonymous requests are 401), with our lookup.

    knox's own lookup also reads every other token of the user at each request, to delete the expired
    ones; ours reads the one row (expired ones are deleted at the user's next login instead), and refuses
    a header that is not ASCII with a 401 where knox's would fail to decode it (a 500)."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        try:
            found = token_user(token.decode("ascii"))
        except UnicodeDecodeError:
            found = None
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token: log in again for a new one.")
        return found


class TokenAuthenticationScheme(TokenScheme):
    """The schema describes it as DRF's token scheme (same name and header), which it replaces."""

    target_class = "apps.accounts.auth.TokenAuthentication"
    match_subclasses = False
    priority = 0

    def get_security_definition(self, auto_schema: Any) -> Any:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
