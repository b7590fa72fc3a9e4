"""Middleware of the whole site: a cap on request bodies, and the security headers Django does not set.

Django's SecurityMiddleware sets nosniff, the referrer policy and the opener policy, and the clickjacking
middleware sets X-Frame-Options; what is left is a Content-Security-Policy (Django 5.2 has none) and a
Permissions-Policy. Both are settings (docs/reliability.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class _Middleware:
    """Both sync and async, so that under Daphne a request never hops to a thread just to pass through."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        refusal = self.refusal(request)
        return refusal if refusal is not None else self.decorate(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        refusal = self.refusal(request)
        return refusal if refusal is not None else self.decorate(request, await self.get_response(request))

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def decorate(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


class RequestSizeLimitMiddleware(_Middleware):
    """Refuse a request whose declared body is over POLYLOG["MAX_REQUEST_BYTES"] before anything reads it.

    Django caps form fields and JSON (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams uploaded files to disk
    whatever their size; this cap bounds an upload as a whole.
    """

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.POLYLOG["MAX_REQUEST_BYTES"]
        length = _declared_length(request)
        if length is None:
            return JsonResponse(
                {"code": "invalid_request", "message": "The Content-Length header is not a number."},
                status=400,
            )
        if length > limit:
            return JsonResponse(
                {
                    "code": "request_too_large",
                    "message": f"The request body is {length} bytes; at most {limit} are accepted.",
                },
                status=413,
            )
        return None


# What CSP accepts as a host-source's host and port (no IPv6 literal, no underscore).
_CSP_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]+)?")


def static_source(request: HttpRequest) -> str:
    """The static files as a CSP source: STATIC_URL if it names its host (a CDN), else the request's host
    with STATIC_URL's path, e.g. `labels.example.org/static/`. With no scheme, the source matches the page's
    own (and https for an http page). A host CSP cannot name falls back to 'self'; one Django refuses gets
    'none', since its response is an error page anyway."""
    static = settings.STATIC_URL
    if "://" in static:
        return static
    try:
        host = request.get_host()
    except DisallowedHost:
        return "'none'"
    if not _CSP_HOST.fullmatch(host):
        return "'self'"
    return f"{host}/{static.lstrip('/')}"


class SecurityHeadersMiddleware(_Middleware):
    """Content-Security-Policy and Permissions-Policy on every response that has none yet; `{static}` in the
    policy is the static files' source for this request (static_source)."""

    def decorate(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        policy = settings.POLYLOG["CONTENT_SECURITY_POLICY"]
        if policy and "Content-Security-Policy" not in response:
            if "{static}" in policy:
                policy = policy.replace("{static}", static_source(request))
            response["Content-Security-Policy"] = policy
        permissions = settings.POLYLOG["PERMISSIONS_POLICY"]
        if permissions and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions
        return response
