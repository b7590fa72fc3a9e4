"""OpenAPI: the refusals that any endpoint can give, documented once for all as {code, message}.

A drf-spectacular postprocessing hook. Views document the refusals of their own logic (403 for a role too
low, 409 for a conflict, ...); this adds the ones that come from the layers around every view, so that the
schema lists every status an endpoint really answers with:

- 400 `malformed_json` / `invalid_request` / `too_many_fields`, 413 `request_too_large` and 415 `unsupported_media_type` for any
  operation that reads a request body;
- 401 `not_authenticated` / `authentication_failed` wherever an authentication class runs (a wrong token
  is refused even where anonymous requests are let through);
- 403 `permission_denied` for writes where session authentication runs (a missing CSRF token);
- 404 `not_found` where the path names an object, or where DRF's content negotiation reads `?format=`
  (an unknown format is a 404);
- 406 `not_acceptable` where DRF's content negotiation reads the Accept header.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import DefaultContentNegotiation

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["code", "message"],
}
DESCRIPTIONS = {
    400: "invalid input (code malformed_json, invalid_request, too_many_fields or too_many_files)",
    401: "not authenticated, or the credentials are wrong",
    403: "not allowed (also: a write with session authentication lacks its CSRF token)",
    404: "no such object, or not a member of its job (also: an unknown ?format=)",
    406: "no acceptable media type for the Accept header",
    413: "the request body is too large",
    415: "unsupported media type",
}
WRITES = {"post", "put", "patch", "delete"}


def _views_by_operation(generator: Any) -> dict[tuple[str, str], Any]:
    views = {}
    for path, _, method, callback in generator.endpoints or []:
        view_class = getattr(callback, "cls", None)
        if view_class is not None:
            views[(path, method.lower())] = view_class
    return views


def _statuses(view_class: Any, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = set()
    if "requestBody" in operation:
        statuses |= {400, 413, 415}
    authenticators = list(getattr(view_class, "authentication_classes", []))
    if authenticators:
        statuses.add(401)
        if method in WRITES and any(issubclass(a, SessionAuthentication) for a in authenticators):
            statuses.add(403)
    if getattr(view_class, "content_negotiation_class", None) is DefaultContentNegotiation:
        statuses |= {404, 406}
    if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
        statuses.add(404)
    return statuses


def add_common_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    views = _views_by_operation(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            view_class = views.get((path, method))
            if view_class is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(view_class, method, operation)):
                responses.setdefault(str(status), {"content": error, "description": DESCRIPTIONS[status]})
            operation["responses"] = dict(sorted(responses.items()))
    return result
