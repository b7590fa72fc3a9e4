"""The HTTP half of the client: JSON requests, an API token, uploads and downloads, with the standard library.

Requests go directly to the server, without any HTTP proxy of the environment. A refusal of the server
(`{"code", "message"}` with a 4xx or 5xx status) is raised as `ApiError`; a server that cannot be reached
as `Unreachable`. `http_json` keeps urllib's own `HTTPError` for scripts that read the answer themselves.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CHUNK = 256 * 1024

Progress = Callable[[int], None]  # called with the number of bytes just sent or received


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


class ApiError(Exception):
    """The server refused a request: its HTTP status, and the `code` and `message` of its answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


class Unreachable(Exception):
    """No answer from the server at all (refused, timed out, name not found)."""


def _refusal(error: urllib.error.HTTPError) -> ApiError:
    """The server's `{code, message}`, or what can be said of an answer that is not one (a proxy's page)."""
    try:
        body = json.loads(error.read() or b"null")
    except (ValueError, OSError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return ApiError(error.code, body["code"], str(body.get("message", "")))
    return ApiError(error.code, f"http_{error.code}", f"the server answered {error.code} {error.reason}")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or None for a body that is not JSON (a download)


class Api:
    """The REST API of one server, as one user (an API token; no token for logging in)."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.base = http_base(base_url)
        self.token = token
        self.timeout = timeout

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        """An absolute URL: `path` under /api/ (or already absolute, as the server's own links are)."""
        if path.startswith(("http://", "https://")):
            url = path
        elif path.startswith("/"):
            url = self.base + path
        else:
            url = f"{self.base}/api/{path}"
        if query:
            pairs = [(k, v) for k, v in query.items() if v is not None]
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs, doseq=True)
        return url

    def _open(
        self,
        method: str,
        url: str,
        *,
        body: bytes | IO[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.token and http_base(url) == self.base:  # a link elsewhere (a bucket's) never gets the token
            all_headers["Authorization"] = f"Token {self.token}"
        request = urllib.request.Request(url, data=body, headers=all_headers, method=method)
        try:
            return _DIRECT.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            raise _refusal(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise Unreachable(f"cannot reach {self.base}: {reason}") from None

    def request(
        self, method: str, path: str, *, query: dict[str, Any] | None = None, data: Any = None
    ) -> Answer:
        body = None if data is None else json.dumps(data).encode()
        headers = {} if data is None else {"Content-Type": "application/json"}
        with self._open(method, self.url(path, query), body=body, headers=headers) as response:
            raw = response.read()
            return Answer(response.status, dict(response.headers.items()), _json_or_none(raw))

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query).body

    def post(self, path: str, data: Any) -> Any:
        return self.request("POST", path, data=data).body

    def download(
        self,
        path: str,
        out: IO[bytes],
        *,
        progress: Callable[[int | None], Progress] | None = None,
        **query: Any,
    ) -> Answer:
        """GET `path` into `out` piece by piece. A JSON answer (a 202 naming a queued export, say) is
        returned parsed instead, with nothing written; otherwise the answer's body is None. `progress`, once
        the body turns out to be the download, is called with its length (None when streamed) and returns
        what to call with the number of bytes of each piece received."""
        with self._open("GET", self.url(path, query), headers={"Accept": "*/*"}) as response:
            headers = dict(response.headers.items())
            if headers.get("Content-Type", "").startswith("application/json"):
                return Answer(response.status, headers, _json_or_none(response.read()))
            length = headers.get("Content-Length")
            received = progress(int(length) if length and length.isdigit() else None) if progress else None
            while chunk := response.read(CHUNK):
                out.write(chunk)
                if received:
                    received(len(chunk))
            return Answer(response.status, headers, None)

    def upload(
        self,
        path: str,
        files: list[tuple[str, Path]],
        fields: dict[str, Any],
        *,
        progress: Progress | None = None,
    ) -> Answer:
        """POST multipart/form-data: each file under the field `files` with its name (relative path), and
        `fields` as form fields; the body is read from disk as it is sent, never held whole."""
        body = MultipartBody(files, {k: v for k, v in fields.items() if v is not None}, progress)
        headers = {"Content-Type": body.content_type, "Content-Length": str(body.length)}
        with self._open("POST", self.url(path), body=body, headers=headers) as response:
            return Answer(response.status, dict(response.headers.items()), _json_or_none(response.read()))


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class MultipartBody:
    """A multipart/form-data body read piece by piece (http.client sends a body with `read`), its length
    known beforehand from the files' sizes, so the server gets a Content-Length."""

    def __init__(
        self, files: list[tuple[str, Path]], fields: dict[str, Any], progress: Progress | None
    ) -> None:
        self.boundary = f"polylog-{uuid.uuid4().hex}"
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.progress = progress
        parts: list[bytes | Path] = []
        for name, value in fields.items():
            text = json.dumps(value) if isinstance(value, bool) else str(value)
            parts.append(self._head(f'name="{name}"') + text.encode() + b"\r\n")
        for name, file in files:
            quoted = name.replace("\\", "/").replace('"', "%22").replace("\r", "").replace("\n", "")
            head = self._head(f'name="files"; filename="{quoted}"', "application/octet-stream")
            parts += [head, file, b"\r\n"]
        parts.append(f"--{self.boundary}--\r\n".encode())
        self.length = sum(len(p) if isinstance(p, bytes) else os.path.getsize(p) for p in parts)
        self._pieces = self._read_all(parts)
        self._piece, self._at = b"", 0

    def _head(self, disposition: str, content_type: str | None = None) -> bytes:
        lines = [f"--{self.boundary}", f"Content-Disposition: form-data; {disposition}"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _read_all(self, parts: list[bytes | Path]) -> Iterator[bytes]:
        for part in parts:
            if isinstance(part, bytes):
                yield part
                continue
            with open(part, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
                    if self.progress:
                        self.progress(len(chunk))

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative); b"" at the end. http.client asks 8 KiB at a
        time, so the piece in hand is kept whole and read through, never copied for what is left of it."""
        out = []
        wanted = size
        while wanted != 0:
            if self._at >= len(self._piece):
                piece = next(self._pieces, None)
                if piece is None:
                    break
                self._piece, self._at = piece, 0
            end = len(self._piece) if wanted < 0 else min(len(self._piece), self._at + wanted)
            out.append(self._piece[self._at : end])
            if wanted > 0:
                wanted -= end - self._at
            self._at = end
        return b"".join(out)
