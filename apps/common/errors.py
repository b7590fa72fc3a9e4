"""API errors: every refusal leaves as {"code", "message"} with a stable code and a human message."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApiError(exceptions.APIException):
    """Raise from a view or service to answer with a given status, code and message."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.message = message


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            out += _flatten(value, f"{prefix}{name}." if name else prefix)
        return out
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item, prefix)]
    return [f"{prefix.rstrip('.')}: {detail}" if prefix else str(detail)]


_CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.ValidationError: "invalid_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return Response({"code": exc.code, "message": exc.message}, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "code": "request_too_large",
                "message": f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFilesSent):
        return Response(
            {
                "code": "too_many_files",
                "message": f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files are accepted in one request.",
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response(
            {
                "code": "too_many_fields",
                "message": f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields are accepted in one request.",
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    # DRF answers Django's Http404 and PermissionDenied as its own NotFound and PermissionDenied.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    detail = getattr(exc, "detail", str(exc))
    message = "; ".join(_flatten(detail)) or code
    body: dict[str, Any] = {"code": code, "message": message}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        body["fields"] = detail
    response.data = body
    return response


@csrf_exempt  # it changes nothing; a write to an unknown path is a 404, not a CSRF page
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unrouted /api/ paths answer like every other API error, not with an HTML page."""
    return JsonResponse(
        {"code": "not_found", "message": f"There is no API endpoint at /api/{path}."}, status=404
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: an API client gets {code, message} like every other answer, never an HTML page;
    pages keep Django's own 500 page. Whatever failed has been logged with its traceback."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "internal_error",
                "message": "The server failed to handle this request; it has been logged.",
            },
            status=500,
        )
    return defaults.server_error(request)
