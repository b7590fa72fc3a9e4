"""What every REST view of every app shares: the refusal body in the schema, and reading its input."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request

from .errors import ApiError


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


def errors(*statuses: int) -> dict[int, Any]:
    """OpenAPI responses for the refusals an endpoint can give; all are {code, message}."""
    common = {401: "not authenticated", 404: "no such object, or not a member of its job"}
    texts = {
        400: "invalid input (code invalid_request, malformed_json or invalid_command)",
        403: "the role does not allow it",
        409: "conflicts with the current data",
        422: "a command refused by the labeling rules (see code)",
        503: "busy, retry",
    }
    out = {code: OpenApiResponse(ErrorSerializer, description=text) for code, text in common.items()}
    out.update({code: OpenApiResponse(ErrorSerializer, description=texts[code]) for code in statuses})
    return out


def valid(serializer_class: type, data: Any, **kwargs: Any) -> dict[str, Any]:
    """`data` validated by the serializer; an invalid one is a 400 (apps.common.errors answers it)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def body(request: Request) -> Any:
    data = request.data
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "The request body must be a JSON object.")
    return data
