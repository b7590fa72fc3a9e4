"""The HTTP half of the Python client: JSON requests and an API token, with the standard library only.

Requests go directly to the server, without any HTTP proxy of the environment.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_base(base_url: str) -> str:
    """`scheme://host:port` of `base_url` for HTTP (ws:// becomes http://, wss:// https://)."""
    parts = urllib.parse.urlsplit(base_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, parts.netloc, "", "", "")).rstrip("/")


def ws_base(base_url: str) -> str:
    """`scheme://host:port` of `base_url` for a websocket (http:// becomes ws://, https:// wss://)."""
    parts = urllib.parse.urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, parts.netloc, "", "", "")).rstrip("/")


def http_json(url: str, *, token: str | None = None, data: Any = None, timeout: float = 10.0) -> Any:
    """GET (or POST when `data` is given) JSON; raises urllib.error.HTTPError on a 4xx/5xx answer."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    body = None
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers)
    with _DIRECT.open(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def token_get(base_url: str, username: str, password: str, *, timeout: float = 10.0) -> str:
    """An API token for a user: POST /api/auth/token/ (synchronous, stdlib only)."""
    answer = http_json(
        f"{http_base(base_url)}/api/auth/token/",
        data={"username": username, "password": password},
        timeout=timeout,
    )
    return str(answer["token"])
