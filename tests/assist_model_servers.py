"""Model servers on loopback for the model plug's tests (docs/assist.md, "The model server").

Each is a real HTTP server (http.server, port 0, in a thread) speaking the protocol: the fake model answers
a known polygon computed from the prompts (the box's inscribed diamond, or a square around the first
point), and keeps every request it got so a test can read what polylog sent. The others misbehave on
purpose: too slow, dripping, answering what they are told, or not there at all. No weights, no model.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# How long a stalling server holds a request at most, should the test never release it.
STALL_AT_MOST = 10.0


def known_polygons(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The fake model: the box's inscribed diamond (score 0.9), else a 10 px square centred on the first
    point (score 0.8), both clipped to nothing outside the image."""
    if request.get("box") is not None:
        x0, y0, x1, y1 = request["box"]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return [{"points": [[cx, y0], [x1, cy], [cx, y1], [x0, cy]], "score": 0.9}]
    point = request["points"][0]
    width, height = request["image"]["width"], request["image"]["height"]
    x0, y0 = max(point["x"] - 5, 0), max(point["y"] - 5, 0)
    x1, y1 = min(point["x"] + 5, width), min(point["y"] + 5, height)
    return [{"points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "score": 0.8}]


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, respond: Callable[[ModelServer, dict[str, Any]], tuple[int, bytes]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.respond = respond
        self.received: list[dict[str, Any]] = []
        self.headers_received: list[dict[str, str]] = []
        self.release = threading.Event()  # set when the test ends: a stalling handler lets go
        self.scheme = "http"
        self.arrived = threading.Event()  # set at the first request

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}/segment"


class Handler(BaseHTTPRequestHandler):
    server: ModelServer

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = json.loads(body)
        self.server.received.append(request)
        self.server.arrived.set()
        self.server.headers_received.append(dict(self.headers))
        status, answer = self.server.respond(self.server, request)
        if status < 0:  # the drip: headers at once, then a byte now and then, never done in time
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while not self.server.release.wait(0.05):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:  # polylog gave up and closed the connection, as it should
                pass
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.end_headers()
        with suppress(OSError):  # polylog stopped reading (an answer too long) and closed, as it should
            self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests


def fake_model(server: ModelServer, request: dict[str, Any]) -> tuple[int, bytes]:
    return 200, json.dumps({"polygons": known_polygons(request)}).encode()


def answering(body: bytes, status: int = 200) -> Callable[[ModelServer, dict[str, Any]], tuple[int, bytes]]:
    """A server that answers `body` with `status`, whatever it is asked."""
    return lambda server, request: (status, body)


def stalling(server: ModelServer, request: dict[str, Any]) -> tuple[int, bytes]:
    """Holds the request until the test ends (past any short timeout), then answers a good polygon."""
    server.release.wait(STALL_AT_MOST)
    return fake_model(server, request)


def dripping(server: ModelServer, request: dict[str, Any]) -> tuple[int, bytes]:
    """Answers at once, then a byte every 50 ms: each read is quick, the whole answer never comes."""
    return -1, b""


@contextmanager
def model_server(
    respond: Callable[[ModelServer, dict[str, Any]], tuple[int, bytes]], tls: tuple[str, str] | None = None
) -> Iterator[ModelServer]:
    """The server in a thread for the block; with `tls` (certificate and key files), over HTTPS."""
    server = ModelServer(respond)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on (bound, read, closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/segment"


def image_bytes_sent(request: dict[str, Any]) -> bytes:
    return base64.b64decode(request["image"]["bytes_b64"], validate=True)


_shared: ModelServer | None = None
_shared_lock = threading.Lock()


def shared_fake_model() -> ModelServer:
    """One fake model for the whole test process, started on first use and left running (a daemon
    thread): for tables of requests (the authorization matrix) that cannot hold a server per row."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ModelServer(fake_model)
            threading.Thread(
                target=_shared.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        return _shared


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 signed by its own key, and the key: (certificate file, key file)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "polylog test model server")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "model.crt", folder / "model.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)
