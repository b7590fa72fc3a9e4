"""The websocket handshake's Origin check: a browser page may open a socket only from this site's own
origin (scheme, host and port alike, as the request reached us) or from one of CSRF_TRUSTED_ORIGINS, the
rule Django's CSRF check applies to form posts."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def _origin(scheme: str, netloc: str) -> Origin | None:
    """(scheme, host, port) with the scheme's default port filled in; None for what is not an origin."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _own_origin(scope: dict[str, Any]) -> Origin | None:
    """This site's origin as the handshake reached it: the Host header, on https when the socket is wss
    (or when a trusted proxy says so, as SECURE_PROXY_SSL_HEADER does for Django's requests)."""
    host = _header(scope, b"host")
    if host is None:
        return None
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy is not None:
        header, value = proxy
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode()
        forwarded = _header(scope, name)
        if forwarded is not None:
            secure = forwarded.split(",")[0].strip() == value
    return _origin("https" if secure else "http", host)


def _trusted(origin: Origin) -> bool:
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        scheme, _, netloc = entry.partition("://")
        wildcard = netloc.startswith("*.")
        trusted = _origin(scheme, netloc[1:] if wildcard else netloc)
        if trusted is None or (trusted[0], trusted[2]) != (origin[0], origin[2]):
            continue
        if trusted[1] == origin[1] or (wildcard and is_same_domain(origin[1], trusted[1])):
            return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Whether the handshake may go on. Browsers always send Origin on a websocket handshake; one without
    it comes from a program (a script, the Python client), which still has to authenticate."""
    value = _header(scope, b"origin")
    if value is None:
        return True
    scheme, _, netloc = value.strip().partition("://")
    origin = _origin(scheme.lower(), netloc)
    if origin is None or "/" in netloc:
        return False  # "null" (a sandboxed or file page), or not an origin at all
    return origin == _own_origin(scope) or _trusted(origin)


class OriginCheck:
    """ASGI middleware: a websocket handshake from a page of another origin is refused (403)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
