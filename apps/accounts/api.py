"""Token login for API clients: POST {username, password} -> {token}."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.errors import ApiError


class TokenResponse(serializers.Serializer):
    token = serializers.CharField()


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class TokenObtain(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TokenResponse, 400: OpenApiResponse(ErrorBody, description="wrong credentials")},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ApiError(400, "invalid_request", "Send {username, password}.")
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            raise ApiError(
                400, "invalid_credentials", "Unable to log in with the username and password given."
            )
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
