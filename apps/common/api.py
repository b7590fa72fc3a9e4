"""What every REST view of every app shares: the refusal body in the schema, and reading its input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request

from .errors import ApiError

# What each refusal means, unless the endpoint says more (`errors(texts=...)`).
REFUSALS = {
    400: "invalid input (code invalid_request, malformed_json or invalid_command)",
    403: "the role does not allow it",
    409: "conflicts with the current data",
    413: "too large (see code)",
    422: "a command refused by the labeling rules (see code)",
    503: "busy, retry",
}


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal: a stable machine code and a sentence for a person."""

    code = serializers.CharField()
    message = serializers.CharField()


def errors(*statuses: int, texts: Mapping[int, str] | None = None) -> dict[int, Any]:
    """OpenAPI responses for the refusals an endpoint can give; all are {code, message}.

    These are the refusals of the view's own logic; apps.common.openapi adds those of the layers around
    every view (401 where authentication runs, 404 where the path names an object or `?format=` is read,
    400/413/415 where a body is read, ...), with its own sentences unless the view gives one. `texts` says
    what a status means on this endpoint where REFUSALS' general sentence would not
    (`texts={403: "only staff create datasets"}`), and may add a status.
    """
    described = {**REFUSALS, **(texts or {})}
    listed = {*statuses, *(texts or {})}
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in sorted(listed)}


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
