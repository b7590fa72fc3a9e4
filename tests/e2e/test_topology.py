"""The production topology of docs/deploy.md, as `make serve` starts it: deploy/serve.py with two Daphne
processes and nginx in front, on PostgreSQL, Redis and an S3 server (moto_server), all on loopback. Every
request goes through nginx: the contract smoke test, a labeled import and an export, two live clients that
land on different Daphnes, media through X-Accel-Redirect and static files from nginx itself.

Runs in the PostgreSQL pass of .ci/run (marked postgres); skipped without nginx, moto, PostgreSQL or Redis,
except on CI (CI=true), where a missing one fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from polylog_client import LabelingClient, http_json, token_get

from tests.conftest import service_missing
from tests.live_servers import (
    POSTGRES_ADMIN_URL,
    ROOT,
    Unavailable,
    free_port,
    manage,
    photos_write,
    postgres_fresh,
    redis_flushed,
    server_env,
)
from tests.polyglots import png_with_text

pytestmark = pytest.mark.postgres

REDIS_DB = 13  # no other test uses it
SMOKE = ROOT.parent / "shared" / "contract" / "smoke.py"
LABELME = ROOT.parent / "shared" / "data" / "labelme-voc2011"
ANNOTATOR, ANNOTATOR_PASSWORD = "topology_annotator", "topology-annotator-pw"
SOCKET_TRIES = 10
MEDIA_POLICY = "default-src 'none'; sandbox"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Topology:
    url: str
    var_dir: Path
    env: dict[str, str]
    bucket: Any
    daphne_ports: list[int]
    job_id: int
    dataset_id: int
    item: dict[str, Any]
    tokens: dict[str, str]


def _nginx() -> str:
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        from serve import nginx_binary
    finally:
        sys.path.pop(0)
    found = nginx_binary()
    if found is None:
        service_missing(Unavailable("nginx is not installed"), "nginx (make nginx)")
    return found


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        service_missing(
            Unavailable(f"moto[server] is not installed: {exc}"), "moto[server] (a dev dependency)"
        )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(endpoint):
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("moto_server did not start")
            time.sleep(0.1)  # polling the port until the server answers, within the deadline
        yield endpoint
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        _DIRECT.open(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _serve(
    env: dict[str, str], var_dir: Path, *, daphnes: int, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str, list[int]]:
    """`make serve`'s script on a free port, in its own process group; it, its URL and its Daphnes' ports
    once it says it serves."""
    port = free_port()
    output = var_dir / "serve.out"
    with open(output, "wb") as log:
        serve = subprocess.Popen(
            [
                sys.executable,
                "deploy/serve.py",
                "--port",
                str(port),
                "--daphnes",
                str(daphnes),
                "--workers",
                str(workers),
                "--expose-upstream",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        return serve, f"http://127.0.0.1:{port}", _serving(serve, output)
    except BaseException:
        _stop(serve)
        raise


def _stop(serve: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a supervisor stops it; SIGKILL to the whole group if it does not end in time."""
    if serve.poll() is None:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(timeout=10)


def _serving(process: subprocess.Popen[bytes], output: Path, timeout: float = 90) -> list[int]:
    """Wait for serve.py to say it serves; the Daphne ports it names."""
    deadline = time.monotonic() + timeout
    while True:
        said = output.read_text(errors="replace")
        found = re.search(r"serving on \S+ \(\d+ Daphne processes on \[([\d, ]+)\]", said)
        if found:
            return [int(port) for port in found.group(1).split(",")]
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"make serve's script did not come up:\n{said[-3000:]}")
        time.sleep(0.1)  # polling its output until it says so, within the deadline


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory, s3_server: str) -> Iterator[Topology]:
    _nginx()
    suffix = secrets.token_hex(4)
    try:
        database_url, redis_url = postgres_fresh(f"polylog_topology_{suffix}"), redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "PostgreSQL and Redis on their standard local ports")
    import boto3

    bucket_name = f"polylog-topology-{suffix}"
    bucket = boto3.resource(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).Bucket(bucket_name)
    bucket.create()

    var_dir = tmp_path_factory.mktemp("var")
    env = server_env(
        var_dir,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        AWS_STORAGE_BUCKET_NAME=bucket_name,
        AWS_S3_ENDPOINT_URL=s3_server,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    serve, url, daphne_ports = _serve(env, var_dir, daphnes=2)
    try:
        photos = photos_write(var_dir / "photos", 2)
        manage(
            env,
            "shell",
            "-c",
            "from django.core.management import call_command; "
            "from django.contrib.auth import get_user_model; "
            f"call_command('seed_demo', '--photos', {str(photos)!r}); "
            f"get_user_model().objects.create_user({ANNOTATOR!r}, password={ANNOTATOR_PASSWORD!r})",
        )
        tokens = {
            "demo": token_get(url, "demo", "demo-polylog"),
            ANNOTATOR: token_get(url, ANNOTATOR, ANNOTATOR_PASSWORD),
        }
        job = next(j for j in _results(http_json(f"{url}/api/jobs/", token=tokens["demo"])))
        http_json(
            f"{url}/api/jobs/{job['id']}/members/",
            token=tokens["demo"],
            data={"username": ANNOTATOR, "role": "annotator"},
        )
        items = _results(http_json(f"{url}/api/jobs/{job['id']}/items/", token=tokens["demo"]))
        yield Topology(
            url=url,
            var_dir=var_dir,
            env=env,
            bucket=bucket,
            daphne_ports=daphne_ports,
            job_id=job["id"],
            dataset_id=job["dataset"] if isinstance(job["dataset"], int) else job["dataset"]["id"],
            item=items[0],
            tokens=tokens,
        )
    finally:
        _stop(serve)
        bucket.objects.all().delete()
        bucket.delete()
        _drop(database_url)


@dataclass
class Disk:
    """A second `make serve` over the same database with files on local storage (no bucket)."""

    url: str
    media_root: Path


@pytest.fixture(scope="module")
def disk(topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Disk]:
    var_dir = tmp_path_factory.mktemp("var_disk")
    keep = {k: topology.env[k] for k in ("DATABASE_URL", "REDIS_URL")}
    # No worker: the first serve's worker has the queue of this Redis database, and its bucket.
    serve, url, _ = _serve(server_env(var_dir, **keep), var_dir, daphnes=1, workers=0)
    try:
        yield Disk(url=url, media_root=var_dir / "media")
    finally:
        _stop(serve)


def _image_row(topology: Topology, name: str) -> None:
    """An image record for the stored file `name`, made as one was before names carried their format."""
    base = name.rsplit("/", 1)[1]
    manage(
        topology.env,
        "shell",
        "-c",
        "from apps.datasets.models import Image; "
        f"Image.objects.create(dataset_id={topology.dataset_id}, file={name!r}, name={base!r}, path={base!r}, "
        "width=8, height=8)",
    )


def _drop(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _results(answer: Any) -> list[dict[str, Any]]:
    return answer["results"] if isinstance(answer, dict) else answer


def _multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields.items():
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for filename, content in files:
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        body.write(content + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def _get(url: str, *, token: str | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    try:
        with _DIRECT.open(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _signed_in(url: str, username: str, password: str) -> urllib.request.OpenerDirector:
    """A browser's session: the login page's form, with its CSRF token, through nginx."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
    )
    page = opener.open(f"{url}/accounts/login/", timeout=10).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf, "the login page has its form"
    form = {"csrfmiddlewaretoken": csrf.group(1), "username": username, "password": password}
    request = urllib.request.Request(
        f"{url}/accounts/login/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Referer": f"{url}/accounts/login/"},
    )
    try:
        opener.open(request, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.read()[:300]
    return opener


def _no_redirects() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opened(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with opener.open(url, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# The tests ---------------------------------------------------------------------------------------------


def test_the_contract_smoke_test_passes_through_nginx(topology: Topology) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SMOKE),
            "--base",
            topology.url,
            "--username",
            "demo",
            "--password",
            "demo-polylog",
            "--job",
            str(topology.job_id),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "contract ok" in done.stdout


def test_a_labeled_import_and_an_export_go_through_nginx(topology: Topology) -> None:
    files = [(p.name, p.read_bytes()) for p in sorted(LABELME.iterdir()) if p.suffix in (".jpg", ".json")]
    body, content_type = _multipart({"format": "labelme", "job": str(topology.job_id)}, files)
    request = urllib.request.Request(
        f"{topology.url}/api/datasets/{topology.dataset_id}/imports/",
        data=body,
        headers={"Authorization": f"Token {topology.tokens['demo']}", "Content-Type": content_type},
    )
    with _DIRECT.open(request, timeout=30) as answer:
        assert answer.status == 202
        started = json.loads(answer.read())

    deadline = time.monotonic() + 60
    while True:
        record = http_json(f"{topology.url}/api/imports/{started['id']}/", token=topology.tokens["demo"])
        if record["status"] not in ("queued", "running"):
            break
        assert time.monotonic() < deadline, f"the import did not finish: {record}"
        time.sleep(0.2)  # polling the import's record until it is done, within the deadline
    assert record["status"] == "done", record
    # 12 objects and the 2 __ignore__ regions, kept as void regions (docs/domain.md, "Void regions")
    assert (record["added"], record["failed"], record["objects_added"]) == (3, 0, 14)

    status, headers, archive = _get(
        f"{topology.url}/api/jobs/{topology.job_id}/export/?format=coco", token=topology.tokens["demo"]
    )
    assert status == 200, archive[:300]
    assert headers["Content-Type"] == "application/zip"
    coco = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("annotations/instances_default.json"))
    imported = {i["id"] for i in coco["images"] if i["file_name"].endswith(tuple(n for n, _ in files))}
    assert len(imported) == 3
    annotations = [a for a in coco["annotations"] if a["image_id"] in imported]
    assert len(annotations) == 14
    assert sum(a["iscrowd"] for a in annotations) == 2  # the void regions, as COCO marks them


def _upstream(client: LabelingClient) -> str:
    """The Daphne (its address) that nginx passed this socket to."""
    return client.connection.response.headers["X-Polylog-Upstream"]


async def _two_clients(topology: Topology) -> dict[str, Any]:
    item_id = topology.item["id"]
    width, height = topology.item["image"]["width"], topology.item["image"]["height"]
    size = {"width": width, "height": height}
    async with contextlib.AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            LabelingClient.connect(topology.url, item_id, topology.tokens["demo"], **size)
        )
        # Round robin alternates per nginx worker, and nginx has one per core: the second person's
        # socket is opened again (a few times at most) until it lands on the other Daphne.
        for _ in range(SOCKET_TRIES):
            b = await stack.enter_async_context(
                LabelingClient.connect(topology.url, item_id, topology.tokens[ANNOTATOR], **size)
            )
            if _upstream(b) != _upstream(a):
                break
            await b.close()
        upstreams = [_upstream(a), _upstream(b)]
        await asyncio.gather(a.hello(since_seq=0), b.hello(since_seq=0))
        await asyncio.gather(a.wait_until(lambda: len(a.users) == 2), b.wait_until(lambda: len(b.users) == 2))
        labels = await asyncio.to_thread(
            http_json,
            f"{topology.url}/api/jobs/{topology.job_id}/label-classes/",
            token=topology.tokens["demo"],
        )
        points = [[10, 10], [60, 10], [60, 50], [10, 50]]
        shape = str(uuid.uuid4())
        mine = await a.command(
            {"type": "add_polygon", "shape_id": shape, "label_class_id": labels[0]["id"], "points": points}
        )
        await b.wait_for_seq(mine.seq)
        theirs = await b.command({"type": "delete_shape", "shape_id": shape})
        # An ack and the event's broadcast travel apart (the broadcast through Redis): each waits for both.
        await asyncio.gather(a.wait_for_seq(theirs.seq), b.wait_for_seq(theirs.seq))
        return {
            "upstreams": upstreams,
            "a": [(e["seq"], e["type"], e["actor"]) for e in a.events],
            "b": [(e["seq"], e["type"], e["actor"]) for e in b.events],
            "seqs": (mine.seq, theirs.seq),
        }


def test_two_live_clients_on_different_daphnes_see_each_others_events_through_nginx(
    topology: Topology,
) -> None:
    outcome = asyncio.run(asyncio.wait_for(_two_clients(topology), timeout=45))

    upstreams = outcome["upstreams"]
    assert {int(u.rsplit(":", 1)[1]) for u in upstreams} == set(topology.daphne_ports), (
        f"round robin put one socket on each Daphne: {upstreams}"
    )
    assert outcome["a"] == outcome["b"], "both saw the same events, each the other's"
    mine, theirs = outcome["seqs"]
    assert [(seq, kind) for seq, kind, _ in outcome["a"][-2:]] == [
        (mine, "polygon_added"),
        (theirs, "shape_deleted"),
    ]
    assert outcome["a"][-1][2] != outcome["a"][-2][2], "two people's events"

    access_log = (topology.var_dir / "nginx" / "access.log").read_text()
    assert "/ws/items/" in access_log
    assert all(token not in access_log for token in topology.tokens.values()), "no token in nginx's log"


def test_static_files_are_served_by_nginx_not_daphne(topology: Topology) -> None:
    status, headers, body = _get(f"{topology.url}/static/polylog/polylog.css")

    assert status == 200
    assert body == (topology.var_dir / "static" / "polylog" / "polylog.css").read_bytes()
    assert headers["Content-Type"].startswith("text/css")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Polylog-Upstream" not in headers, "no Daphne answered"
    daphne_logs = [(topology.var_dir / "logs" / f"daphne{n}.access.log").read_text() for n in (1, 2)]
    assert all("/static/" not in log for log in daphne_logs)
    assert any("/api/" in log for log in daphne_logs), "the Daphne logs are the ones the API wrote to"


def test_media_is_sent_by_nginx_from_the_bucket_after_djangos_check_with_the_media_headers(
    topology: Topology,
) -> None:
    # A file from before names carried their format: a PNG called y.html, which the bucket calls text/html.
    content = png_with_text("<script>document.title='ran'</script>")
    name = f"datasets/{topology.dataset_id}/y.html"
    topology.bucket.put_object(Key=name, Body=content, ContentType="text/html")
    _image_row(topology, name)
    # The photo's key in the bucket, from the signed URL the API gives: /<bucket>/<key>?<signature>.
    photo = urllib.parse.unquote(urllib.parse.urlsplit(topology.item["image"]["url"]).path)
    photo = photo.split(f"/{topology.bucket.name}/", 1)[1]
    session = _signed_in(topology.url, "demo", "demo-polylog")

    status, headers, body = _opened(session, f"{topology.url}/media/{name}")
    photo_status, photo_headers, photo_body = _opened(session, f"{topology.url}/media/{photo}")
    anonymous = _opened(
        _no_redirects(),
        f"{topology.url}/media/{name}",
    )

    assert status == 200
    assert body == content, "the bytes of the object, fetched by nginx"
    assert headers["ETag"] == topology.bucket.Object(name).e_tag, "nginx passed the bucket's answer on"
    assert headers["Content-Type"] == "image/png", "the type of the bytes, not the bucket's"
    assert headers["Content-Disposition"] == 'inline; filename="y.html.png"'
    assert headers["Content-Security-Policy"] == MEDIA_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert not {h.lower() for h in headers} & {
        "x-polylog-media-url",
        "x-accel-redirect",
        "access-control-allow-origin",
    }
    assert "X-Polylog-Upstream" not in headers
    assert (photo_status, photo_headers["Content-Type"]) == (200, "image/jpeg")
    assert photo_body == topology.bucket.Object(photo).get()["Body"].read()
    assert photo_headers["Content-Security-Policy"] == MEDIA_POLICY
    assert anonymous[0] == 302 and anonymous[1]["Content-Security-Policy"] == MEDIA_POLICY
    assert anonymous[2] != content


def test_media_on_local_storage_is_sent_by_nginx_from_disk_with_the_media_headers(
    topology: Topology, disk: Disk
) -> None:
    # A PNG stored as z.html, as files were before names carried their format: nginx alone would call it
    # text/html by its name.
    content = png_with_text("<script>document.title='ran'</script>")
    name = f"datasets/{topology.dataset_id}/z.html"
    (disk.media_root / name).parent.mkdir(parents=True, exist_ok=True)
    (disk.media_root / name).write_bytes(content)
    _image_row(topology, name)
    session = _signed_in(disk.url, "demo", "demo-polylog")

    status, headers, body = _opened(session, f"{disk.url}/media/{name}")
    anonymous = _opened(_no_redirects(), f"{disk.url}/media/{name}")

    assert status == 200
    assert body == content
    assert "ETag" in headers and "Last-Modified" in headers, "nginx sent the file from disk"
    assert headers["Content-Type"] == "image/png", "the type of the bytes, not of the name"
    assert headers["Content-Disposition"] == 'inline; filename="z.html.png"'
    assert headers["Content-Security-Policy"] == MEDIA_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Accel-Redirect" not in headers
    assert anonymous[0] == 302, "Django's check still decides"
    assert anonymous[2] != content and anonymous[1]["Content-Security-Policy"] == MEDIA_POLICY


def test_a_queued_export_is_made_by_a_worker_and_downloaded_from_the_bucket_through_nginx(
    topology: Topology,
) -> None:
    """A large export (queued: made here directly, as the export route does past its threshold) is made
    by a `make serve` worker into the bucket; its download passes Django's check and nginx sends the
    bytes it fetches from the bucket itself (X-Accel-Redirect), as for images."""
    made = manage(
        topology.env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "from apps.common.api import valid; "
        "from apps.interchange.api import ExportQuerySerializer; "
        "from apps.interchange.exports import export_queue; "
        "from apps.labeling.models import LabelingJob; "
        f"job = LabelingJob.objects.get(pk={topology.job_id}); "
        "query = valid(ExportQuerySerializer, {'format': 'coco'}); "
        "del query['format'], query['images']; "
        "export = export_queue(job=job, requested_by=get_user_model().objects.get(username='demo'), "
        "fmt='coco', with_images=False, query=query, total=job.items.count()); print('export', export.pk)",
    )
    export_id = int(next(line for line in made.splitlines() if line.startswith("export ")).split()[1])
    deadline = time.monotonic() + 60
    while True:
        detail = http_json(f"{topology.url}/api/exports/{export_id}/", token=topology.tokens["demo"])
        if detail["status"] not in ("queued", "running"):
            break
        assert time.monotonic() < deadline, f"the export did not finish: {detail}"
        time.sleep(0.2)  # polling the export's record until a worker made it, within the deadline
    assert detail["status"] == "done", json.dumps(detail)
    assert any(o.key.endswith(".zip") for o in topology.bucket.objects.all())  # made into the bucket

    status, headers, archive = _get(f"{topology.url}{detail['download_url']}", token=topology.tokens["demo"])

    assert status == 200, archive[:300]
    assert headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "X-Accel-Redirect" not in headers and "X-Polylog-Media-Url" not in headers
    assert headers["Cache-Control"] == "private, max-age=3600"  # nginx's internal location sent it
    assert "sandbox" in headers["Content-Security-Policy"]
    coco = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("annotations/instances_default.json"))
    assert len(coco["images"]) == detail["total"]
