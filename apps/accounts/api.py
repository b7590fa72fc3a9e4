"""Token login for API clients: POST {username, password} -> {token, expiry}; DELETE revokes the token sent."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.auth import TokenAuthentication
from apps.accounts.throttle import CODE, LoginAttempt, refusal_message
from apps.accounts.tokens import token_create, token_revoke
from apps.common.api import ErrorSerializer
from apps.common.errors import ApiError


class LoginRequest(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenResponse(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(help_text="When the token stops working; log in again for a new one.")


class TokenObtain(APIView):
    # Only tokens authenticate here: DELETE revokes the token it was sent with, so a session has none to
    # revoke. POST needs no authentication, but a token sent along is still checked (a wrong one is a 401,
    # as on every endpoint).
    authentication_classes = [TokenAuthentication]

    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    @extend_schema(
        # No credentials needed (a token sent along is still checked): a generated client logs in with its
        # plain, unauthenticated client.
        auth=[],
        request=LoginRequest,
        responses={
            200: TokenResponse,
            400: OpenApiResponse(ErrorSerializer, description="wrong credentials (code invalid_credentials)"),
            429: OpenApiResponse(
                ErrorSerializer,
                description="too many failed logins for this username or address (code too_many_attempts); "
                "the Retry-After header says in how many seconds to try again",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ApiError(400, "invalid_request", "Send {username, password}.")
        username = request.data.get("username")
        attempt = LoginAttempt.of(request, username if isinstance(username, str) else "")
        if retry_after := attempt.retry_after():
            return Response(
                {"code": CODE, "message": refusal_message(retry_after)},
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        login = LoginRequest(data=request.data)
        user = None
        if login.is_valid():
            user = authenticate(request, **login.validated_data)
            if user is None:
                attempt.failed()
        if user is None:
            raise ApiError(
                400, "invalid_credentials", "Unable to log in with the username and password given."
            )
        attempt.succeeded()
        issued = token_create(user=user)
        return Response(TokenResponse({"token": issued.token, "expiry": issued.expiry}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Log this client out: the token in the Authorization header stops working; others stay."""
        if not isinstance(request.auth, AuthToken):  # signed in some other way: there is no token to revoke
            raise ApiError(
                401, "not_authenticated", "Send the token to revoke as Authorization: Token <token>."
            )
        token_revoke(token=request.auth)
        return Response(status=204)
