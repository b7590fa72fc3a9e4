"""The `polylog` command: log in, list jobs, import, export, watch an item live, replay an item (docs/cli.md).

Each command is one function over `Api` and `LabelingClient`; `main` turns every failure into one line on
stderr and an exit status (EXIT_* below), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from .http import Api, ApiError, Unreachable, http_base
from .websocket import LabelingClient

EXIT_REFUSED = 1  # the server refused (its code and message), or the command cannot do what was asked
EXIT_USAGE = 2  # the command line itself is wrong (argparse's own status)
EXIT_UNREACHABLE = 3  # no answer from the server
EXIT_INTERRUPTED = 130

# An upload request carries at most this many files (--batch; the server takes 1,000 files a request unless
# POLYLOG_MAX_UPLOAD_FILES says less) and about this many bytes.
UPLOAD_FILES = 500
UPLOAD_BYTES = 256 * 1024 * 1024
# The annotation files of a labeled import, by format; the rest of a folder is images.
ANNOTATION_SUFFIXES = {"coco": (".json",), "labelme": (".json",), "cvat": (".xml",)}
POLL_SECONDS = 0.5
FINISHED = ("done", "failed", "expired")


class Failure(Exception):
    """What the command could not do, said in one line, with its exit status."""

    def __init__(self, message: str, status: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.status = status


# Configuration --------------------------------------------------------------------------------------


def config_path() -> Path:
    """$POLYLOG_CONFIG, else $XDG_CONFIG_HOME/polylog/config.json (~/.config/polylog/config.json)."""
    if os.environ.get("POLYLOG_CONFIG"):
        return Path(os.environ["POLYLOG_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "polylog" / "config.json"


def config_read() -> dict[str, Any]:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"servers": {}}
    except (OSError, ValueError) as error:
        raise Failure(f"cannot read the configuration {path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
        raise Failure(f"the configuration {path} is not polylog's; remove it and log in again")
    return data


def config_write(data: dict[str, Any]) -> Path:
    """Written to a new file readable by its owner only (it holds tokens), then moved into place."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
        json.dump(data, handle, indent=2)
    os.replace(temporary, path)
    return path


def server_of(args: argparse.Namespace, config: dict[str, Any]) -> str:
    server = args.server or os.environ.get("POLYLOG_SERVER") or config.get("server")
    if not server:
        raise Failure("no server given: polylog login --server http://host:port (or set POLYLOG_SERVER)")
    if not server.startswith(("http://", "https://")):
        raise Failure(f"the server is a URL starting with http:// or https://, not {server!r}", EXIT_USAGE)
    return http_base(server)


def api_of(args: argparse.Namespace) -> Api:
    """The API as the user logged in to the server: $POLYLOG_TOKEN, else the configuration's token."""
    config = config_read()
    server = server_of(args, config)
    token = os.environ.get("POLYLOG_TOKEN") or config["servers"].get(server, {}).get("token")
    if not token:
        raise Failure(f"not logged in to {server}: run polylog login --server {server}")
    return Api(server, token)


# Progress -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def progress_bar(args: argparse.Namespace, **options: Any) -> Iterator[Any]:
    """A tqdm bar on stderr: shown on a terminal, or always with --progress; never with --quiet."""
    from tqdm import tqdm

    shown = not args.quiet and (args.progress or sys.stderr.isatty())
    with tqdm(file=sys.stderr, disable=not shown, dynamic_ncols=True, **options) as bar:
        yield bar


# login, jobs ----------------------------------------------------------------------------------------


def command_login(args: argparse.Namespace) -> None:
    config = config_read()
    server = server_of(args, config)
    username = args.username or input("username: ")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = os.environ.get("POLYLOG_PASSWORD") or getpass.getpass("password: ")
    answer = Api(server).post("auth/token/", {"username": username, "password": password})
    config["servers"][server] = {
        "token": answer["token"],
        "username": username,
        "expiry": answer.get("expiry"),
    }
    config["server"] = server
    path = config_write(config)
    print(f"logged in to {server} as {username} (token until {answer.get('expiry')}; saved in {path})")


def command_jobs(args: argparse.Namespace) -> None:
    jobs = api_of(args).get("jobs/")
    if args.json:
        print(json.dumps(jobs, indent=2))
        return
    rows = [("ID", "NAME", "ROLE", "LABELED", "DATASET", "LABELS")]
    for job in jobs:
        progress = job.get("progress") or {}
        labels = ", ".join(label["name"] for label in job.get("label_classes", []))
        rows.append(
            (
                str(job["id"]),
                job["name"],
                job.get("role") or "-",
                f"{progress.get('labeled', 0)}/{progress.get('total', 0)}",
                f"{job['dataset']} {job.get('dataset_name', '')}".strip(),
                labels,
            )
        )
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])


# import ---------------------------------------------------------------------------------------------


def files_to_import(path: Path) -> list[tuple[str, Path]]:
    """A file as itself; a folder's regular files by relative path (hidden ones left out), sorted."""
    if path.is_file():
        return [(path.name, path)]
    if not path.is_dir():
        raise Failure(f"{path} is neither a file nor a folder")
    found = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if any(part.startswith(".") for part in relative.parts) or not file.is_file():
            continue
        found.append((relative.as_posix(), file))
    if not found:
        raise Failure(f"{path} holds no files to import")
    return found


def upload_batches(
    files: list[tuple[str, Path]], fmt: str | None, most: int = UPLOAD_FILES
) -> list[tuple[list[tuple[str, Path]], bool]]:
    """The requests of an import: (files, labeled) each, at most `most` files and about UPLOAD_BYTES.

    A labeled import's annotation files go in the last requests, those that name the format, after every
    image they refer to has been imported by the requests before them (or goes in the same one)."""
    suffixes = ANNOTATION_SUFFIXES.get(fmt, (".json", ".xml")) if fmt else ()
    annotations = [f for f in files if suffixes and f[0].lower().endswith(suffixes)]
    images = [f for f in files if not (suffixes and f[0].lower().endswith(suffixes))]
    batches: list[list[tuple[str, Path]]] = [[]]
    size = 0
    for name, file in images:
        file_size = file.stat().st_size
        if batches[-1] and (len(batches[-1]) >= most or size + file_size > UPLOAD_BYTES):
            batches.append([])
            size = 0
        batches[-1].append((name, file))
        size += file_size
    plain = len(batches) - 1  # the last batch of images takes annotations too while there is room
    for annotation in annotations:
        if len(batches[-1]) >= most:
            batches.append([])
        batches[-1].append(annotation)
    labeled = bool(annotations)
    return [(batch, labeled and n >= plain) for n, batch in enumerate(batches) if batch]


def import_wait(api: Api, args: argparse.Namespace, record: dict[str, Any]) -> dict[str, Any]:
    """Poll the import until it is done or failed, with its progress (files processed of total)."""
    with progress_bar(
        args, desc=f"import {record['id']}", unit="file", total=record.get("total") or None
    ) as bar:
        while record["status"] not in FINISHED:
            time.sleep(POLL_SECONDS)  # the server tells an import's progress only when asked
            record = api.get(f"imports/{record['id']}/")
            bar.total = record.get("total") or bar.total
            bar.update(record.get("processed", 0) - bar.n)
    return record


def import_summary(record: dict[str, Any]) -> str:
    counts = f"{record['added']} added, {record['duplicates']} duplicates, {record['failed']} failed"
    if record.get("format"):
        counts += f"; {record['objects_added']} objects added, {record['objects_refused']} refused"
    return f"import {record['id']}: {record['status']}: {counts}"


def command_import(args: argparse.Namespace) -> None:
    api = api_of(args)
    job = api.get(f"jobs/{args.job}/")
    path = Path(args.path)
    files = files_to_import(path)
    if path.is_file() and not args.format:
        raise Failure("a single file is a labeled import: give its --format (coco, labelme, cvat)")
    batches = upload_batches(files, args.format, args.batch)
    total = sum(file.stat().st_size for batch, _ in batches for _, file in batch)
    records: list[dict[str, Any]] = []
    try:
        with progress_bar(args, desc="upload", unit="B", unit_scale=True, total=total) as bar:
            for n, (batch, labeled) in enumerate(batches):
                fields = {"format": args.format, "job": job["id"]} if labeled else {}
                answer = api.upload(f"datasets/{job['dataset']}/imports/", batch, fields, progress=bar.update)
                record = answer.body
                if n < len(batches) - 1 or not args.no_wait:
                    # A labeled import's annotations refer to images the requests before it imported.
                    record = import_wait(api, args, record)
                records.append(record)
                if record["status"] == "failed":
                    reasons = [e.get("reason") for e in record.get("errors", []) if e.get("reason")]
                    raise Failure(
                        f"import {record['id']} failed: {reasons[-1] if reasons else 'see its record'}"
                    )
    finally:  # what went in before a refusal or a failure is said too
        import_report(records, args)


def import_report(records: list[dict[str, Any]], args: argparse.Namespace) -> None:
    for record in records:
        print(import_summary(record))
        for refusal in record.get("errors", [])[: args.errors]:
            where = refusal.get("record") or refusal.get("file")  # a record names its file
            reason = refusal.get("reason") or refusal.get("code")
            print(f"  refused {where}: {reason}" if where else f"  {reason}")
    if args.json and records:
        print(json.dumps(records, indent=2))


# export ---------------------------------------------------------------------------------------------


def export_query(args: argparse.Namespace) -> dict[str, Any]:
    query: dict[str, Any] = {"format": args.format, "status": args.status, "q": args.q}
    if args.images:
        query["images"] = "true"
    if args.hard_example is not None:
        query["hard_example"] = args.hard_example
    if args.label_class:
        query["label_class"] = ",".join(str(n) for n in args.label_class)
    if args.labeled_by:
        query["labeled_by"] = args.labeled_by
    return query


def export_download(
    api: Api, args: argparse.Namespace, path: str, out: Path, **query: Any
) -> dict[str, Any] | None:
    """The zip into `out` (whole or not at all), or the JSON the server answered instead (a queued export)."""
    with (
        tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}-", delete=False) as handle,
        contextlib.ExitStack() as bars,
    ):

        def bar(length: int | None) -> Callable[[int], object]:
            shown = progress_bar(args, desc="download", unit="B", unit_scale=True, total=length)
            return bars.enter_context(shown).update

        try:
            answer = api.download(path, handle, progress=bar, **query)
        except BaseException:
            os.unlink(handle.name)
            raise
    if answer.body is not None:
        os.unlink(handle.name)
        return answer.body
    os.replace(handle.name, out)
    return None


def command_export(args: argparse.Namespace) -> None:
    api = api_of(args)
    out = Path(args.output or f"job{args.job}-{args.format}.zip")
    if not out.parent.is_dir():
        raise Failure(f"cannot write {out}: there is no folder {out.parent}")
    queued = export_download(api, args, f"jobs/{args.job}/export/", out, **export_query(args))
    if queued is not None:
        # A large selection is made on the server's queue (202): follow it, then download its zip.
        with progress_bar(args, desc=f"export {queued['id']}", unit="item", total=queued.get("total")) as bar:
            while queued["status"] not in FINISHED:
                time.sleep(POLL_SECONDS)  # the export's progress is told when asked
                queued = api.get(queued["url"])
                bar.update(queued.get("done", 0) - bar.n)
        if queued["status"] != "done":
            raise Failure(
                f"export {queued['id']} {queued['status']}: {queued.get('error') or 'export again'}"
            )
        if export_download(api, args, queued["download_url"], out) is not None:
            raise Failure(f"export {queued['id']}: the server answered its download with JSON, not a zip")
    print(f"{out} ({out.stat().st_size} bytes)")


# watch ----------------------------------------------------------------------------------------------


async def watch(api: Api, item_id: int, since: int, count: int | None) -> None:
    async with LabelingClient.connect(api.base, item_id, api.token or "") as client:
        await client.hello(since_seq=since)
        print(f"watching item {item_id} after seq {since}", file=sys.stderr, flush=True)
        printed = 0
        async for event in client.follow():
            print(json.dumps(event, separators=(",", ":")), flush=True)
            printed += 1
            if count is not None and printed >= count:
                return


def command_watch(args: argparse.Namespace) -> None:
    api = api_of(args)
    since = args.since
    if since is None:  # from now; asking also says at once whether the item is there and readable
        since = api.get(f"items/{args.item}/state/")["seq"]
    try:
        asyncio.run(watch(api, args.item, since, args.count))
    except ConnectionError as closed:
        raise Failure(f"the server closed the connection to item {args.item}: {closed}") from None
    except OSError as error:
        raise Failure(f"cannot reach {api.base}: {error}", EXIT_UNREACHABLE) from None


# replay ---------------------------------------------------------------------------------------------


def command_replay(args: argparse.Namespace) -> None:
    from .overlay import overlay_png

    api = api_of(args)
    state = api.get(f"items/{args.item}/state/", at_seq=args.seq, at_time=args.time)
    if not args.png:
        print(json.dumps(state, indent=2))
        return
    image = io.BytesIO()
    api.download(f"items/{args.item}/preview.jpg", image)
    colors = {
        label["id"]: label["color"] for job in api.get("jobs/") for label in job.get("label_classes", [])
    }
    Path(args.png).write_bytes(overlay_png(image.getvalue(), state, colors))
    print(f"{args.png}: item {args.item} at seq {state['seq']}, {len(state['shapes'])} shapes")


# The command line -----------------------------------------------------------------------------------


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number from 1 up, not {text!r}")
    return int(text)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"polylog: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="the server's URL (default: $POLYLOG_SERVER, else the last login's)")
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    common.add_argument("--progress", action="store_true", help="progress bars even when not on a terminal")

    top = Parser(prog="polylog", description="The command line of a polylog server (docs/cli.md).")
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(name: str, run: Callable[[argparse.Namespace], None], text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=text, description=text)
        sub.set_defaults(run=run)
        return sub

    login = command("login", command_login, "log in and keep the token ($POLYLOG_CONFIG)")
    login.add_argument("--username", "-u")
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    jobs = command("jobs", command_jobs, "list your labeling jobs")
    jobs.add_argument("--json", action="store_true", help="the API's JSON instead of a table")

    importing = command(
        "import", command_import, "add a folder of images, or labeled files, to a job's dataset"
    )
    importing.add_argument(
        "job", type=int, help="the job (its dataset gets the images; a labeled import, the labels)"
    )
    importing.add_argument(
        "path", help="a folder (images, and annotation files with --format) or one annotation file"
    )
    importing.add_argument("--format", help="a labeled import: coco, labelme or cvat (as the server takes)")
    importing.add_argument(
        "--batch", type=positive, default=UPLOAD_FILES, help=f"files per request (default {UPLOAD_FILES})"
    )
    importing.add_argument("--no-wait", action="store_true", help="do not wait for the last import to finish")
    importing.add_argument("--errors", type=int, default=20, help="refused files to list (default 20)")
    importing.add_argument("--json", action="store_true", help="print the import records as JSON too")

    export = command("export", command_export, "export a job's labels as a zip")
    export.add_argument("job", type=int)
    export.add_argument(
        "--format", "-f", required=True, help="coco, voc, labelme, yolo, ... (as the server has)"
    )
    export.add_argument("--output", "-o", help="the zip to write (default: job<id>-<format>.zip)")
    export.add_argument("--images", action="store_true", help="put the image files in too")
    export.add_argument("--status", choices=["all", "unlabeled", "labeled"])
    export.add_argument("--hard-example", choices=["true", "false"])
    export.add_argument(
        "--label-class", type=int, action="append", help="a label class id (repeatable: any of)"
    )
    export.add_argument("--labeled-by", type=int, help="a user id")
    export.add_argument("--q", help="a substring of the file name or path")

    watching = command("watch", command_watch, "print an item's events live, one JSON line each")
    watching.add_argument("item", type=int)
    watching.add_argument(
        "--since", type=int, help="print the events after this seq first (default: from now)"
    )
    watching.add_argument("--count", type=positive, help="stop after this many events")

    replay = command("replay", command_replay, "an item's state at a seq or a time, as JSON or a PNG overlay")
    replay.add_argument("item", type=int)
    at = replay.add_mutually_exclusive_group()
    at.add_argument("--seq", type=int, help="the state after this event (default: now)")
    at.add_argument("--time", help="the state at this ISO 8601 time, e.g. 2026-12-05T01:00:00Z")
    replay.add_argument("--png", help="write the polygons over the image to this PNG instead of JSON")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except Failure as failure:
        return _fail(str(failure), failure.status)
    except ApiError as refused:
        hint = " (run polylog login)" if refused.status == 401 else ""
        return _fail(f"{refused.code}: {refused.message}{hint}", EXIT_REFUSED)
    except Unreachable as unreachable:
        return _fail(str(unreachable), EXIT_UNREACHABLE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # `polylog watch 7 | head -1`: the reader went away, which is not an error
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - python flushes stdout at exit
        return 0
    except Exception as error:  # noqa: BLE001 - any other failure is still one line, never a traceback
        return _fail(f"{type(error).__name__}: {error}", EXIT_REFUSED)
    return 0


def _fail(message: str, status: int) -> int:
    print(f"polylog: error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
