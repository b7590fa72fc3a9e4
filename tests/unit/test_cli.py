"""The `polylog` command's pieces without a server: the documented command lines parse, an import's requests
keep a labeled import's annotations last, and an upload's body is the multipart it says it is."""

from __future__ import annotations

import email.parser
import http.server
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from polylog_client import cli
from polylog_client.http import Api, MultipartBody

ROOT = Path(__file__).resolve().parents[2]


def documented_command_lines() -> list[str]:
    """Every `polylog ...` line of the sh blocks of README.md and docs/cli.md, comments dropped."""
    lines = []
    for name in ("README.md", "docs/cli.md"):
        for block in re.findall(r"```sh\n(.*?)```", (ROOT / name).read_text(), flags=re.S):
            lines += [line.split("#")[0].split("|")[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("polylog ")]


def test_every_command_line_the_docs_show_parses() -> None:
    lines = documented_command_lines()

    assert {line.split()[1] for line in lines} >= {"login", "jobs", "import", "export", "watch", "replay"}
    for line in lines:
        args = cli.parser().parse_args(line.split()[1:])
        assert callable(args.run), line


def test_a_wrong_command_line_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args(["watch", "7", "--count", "0"])

    assert exited.value.code == cli.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [
        "polylog: error: argument --count: a whole number from 1 up, not '0' (see polylog watch --help)"
    ]


def files(tmp_path: Path, names: list[str]) -> list[tuple[str, Path]]:
    found = []
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 10)
        found.append((name, tmp_path / name))
    return found


def test_a_labeled_imports_annotations_go_in_its_last_requests_after_every_image(tmp_path: Path) -> None:
    given = files(tmp_path, ["a.json", "a.jpg", "b.jpg", "c.jpg", "b.json"])

    batches = cli.upload_batches(given, "coco", 2)

    assert [([name for name, _ in batch], labeled) for batch, labeled in batches] == [
        (["a.jpg", "b.jpg"], False),
        (["c.jpg", "a.json"], True),
        (["b.json"], True),
    ]
    only_labels = cli.upload_batches(files(tmp_path, ["x.json", "y.json", "z.json"]), "labelme", 2)
    assert [([n for n, _ in batch], labeled) for batch, labeled in only_labels] == [
        (["x.json", "y.json"], True),
        (["z.json"], True),
    ]
    assert [([n for n, _ in batch], labeled) for batch, labeled in cli.upload_batches(given, None, 2)] == [
        (["a.json", "a.jpg"], False),
        (["b.jpg", "c.jpg"], False),
        (["b.json"], False),
    ]


def test_an_upload_body_is_as_long_as_it_says_and_carries_each_file_under_its_name(tmp_path: Path) -> None:
    (tmp_path / "one.png").write_bytes(b"\x89PNG" + bytes(range(256)) * 1000)
    (tmp_path / "two.json").write_text('{"images": []}')
    sent = []
    body = MultipartBody(
        [("sub/one.png", tmp_path / "one.png"), ("two.json", tmp_path / "two.json")],
        {"format": "coco", "job": 3},
        sent.append,
    )

    raw = b"".join(iter(lambda: body.read(8192), b""))

    assert len(raw) == body.length
    again = MultipartBody([("two.json", tmp_path / "two.json")], {}, None)
    whole = again.read()  # all at once, then nothing
    assert whole.endswith(f'{{"images": []}}\r\n--{again.boundary}--\r\n'.encode())
    assert (len(whole), again.read(10)) == (again.length, b"")
    assert sum(sent) == 4 + 256_000 + len('{"images": []}')
    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {body.content_type}\r\n\r\n".encode() + raw
    )
    parts = [
        (p.get_param("name", header="content-disposition"), p.get_filename(), p.get_payload(decode=True))
        for p in message.get_payload()
    ]
    assert parts == [
        ("format", None, b"coco"),
        ("job", None, b"3"),
        ("files", "sub/one.png", (tmp_path / "one.png").read_bytes()),
        ("files", "two.json", b'{"images": []}'),
    ]


@pytest.fixture
def servers() -> Iterator[tuple[list[dict[str, str]], list[str]]]:
    """Two HTTP servers on loopback that record the headers of each GET and answer bytes."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            seen.append({"port": str(self.server.server_address[1]), **dict(self.headers.items())})
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"zip")

        def log_message(self, *args: object) -> None:
            pass

    running = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    for server in running:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield seen, [f"http://127.0.0.1:{server.server_address[1]}" for server in running]
    finally:
        for server in running:
            server.shutdown()
            server.server_close()


def test_the_token_goes_to_its_own_server_only_never_to_a_link_elsewhere(
    servers: tuple[list[dict[str, str]], list[str]],
) -> None:
    seen, (own, elsewhere) = servers
    api = Api(own, "secret-token")
    lengths: list[int | None] = []

    def progress(length: int | None) -> None:
        lengths.append(length)

    for url in (f"{own}/api/exports/1/download/", f"{elsewhere}/bucket/export.zip"):
        out = io.BytesIO()
        assert api.download(url, out, progress=progress).body is None
        assert out.getvalue() == b"zip"

    assert [(s["port"], s.get("Authorization")) for s in seen] == [
        (own.rsplit(":", 1)[1], "Token secret-token"),
        (elsewhere.rsplit(":", 1)[1], None),
    ]
    assert lengths == [3, 3]
