"""The `polylog` command (clients/python, issue 22 point 8) run as a user runs it: the installed console
script, as a subprocess, from a folder outside the repository (so nothing of the server is importable), with
its own configuration file, against a live Daphne: login, jobs, import, export, watch, replay, and each error
as one line on stderr with a non-zero exit.

The server runs on SQLite in a temporary folder whatever DATABASE_URL says (what is tested is the command,
not the database): the test runs in the SQLite pass only. Exports of POLYLOG_EXPORT_QUEUE_ITEMS (here 3)
items or more go to the queue, so one export here is streamed and another queued.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from polylog_client import http_json, token_get

from tests.live_servers import daphne_start, free_port, manage, photos_write, server_env, wait_until_serving

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="runs in the SQLite pass (its server is on SQLite whatever the pass; the command is what is tested)",
)

POLYLOG = Path(sys.executable).parent / "polylog"
QUEUE_ITEMS = 3
PHOTOS = 3
TIMEOUT = 120
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Site:
    url: str
    token: str
    job: dict[str, Any]
    item_ids: list[int]
    demo_id: int
    home: Path  # the command's working folder, outside the repository

    def api(self, path: str, data: Any = None) -> Any:
        return http_json(f"{self.url}/api/{path}", token=self.token, data=data, timeout=30)

    def image(self, item_id: int) -> Image.Image:
        """The item's preview, the image the command draws on."""
        request = urllib.request.Request(
            f"{self.url}/api/items/{item_id}/preview.jpg", headers={"Authorization": f"Token {self.token}"}
        )
        with DIRECT.open(request, timeout=30) as answer:
            return Image.open(io.BytesIO(answer.read())).convert("RGB")


@dataclass
class Ran:
    status: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: Any) -> Iterator[Site]:
    if not POLYLOG.exists():
        pytest.fail(f"{POLYLOG} is not installed: make install (it runs pip install -e ./clients/python)")
    var_dir = tmp_path_factory.mktemp("cli-var")
    env = server_env(var_dir, POLYLOG_EXPORT_QUEUE_ITEMS=str(QUEUE_ITEMS))
    env.pop("DEBUG", None)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(var_dir / "photos", PHOTOS)), "-v0")
    daphne = daphne_start(env, var_dir / "logs", "api")
    try:
        wait_until_serving([daphne], timeout=60)
        token = token_get(daphne.base_url, "demo", "demo-polylog")
        (job,) = http_json(f"{daphne.base_url}/api/jobs/", token=token)
        items = http_json(f"{daphne.base_url}/api/jobs/{job['id']}/items/?status=all", token=token)
        item_ids = [item["id"] for item in items["results"]]
        assert len(item_ids) == PHOTOS
        members = http_json(f"{daphne.base_url}/api/jobs/{job['id']}/members/", token=token)
        demo_id = next(member["user"] for member in members if member["username"] == "demo")
        yield Site(daphne.base_url, token, job, item_ids, demo_id, tmp_path_factory.mktemp("cli-home"))
    finally:
        daphne.stop()


def polylog(site: Site, *args: str, config: Path | None = None, **env: str) -> Ran:
    """Run the installed `polylog` with a configuration of its own (logged in unless `config` says else)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POLYLOG_")}
    environment["POLYLOG_CONFIG"] = str(config or logged_in(site))
    environment.update(env)
    done = subprocess.run(
        [str(POLYLOG), *args],
        cwd=site.home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def logged_in(site: Site) -> Path:
    config = site.home / "logged-in.json"
    if not config.exists():
        ran = polylog(
            site,
            "login",
            "--server",
            site.url,
            "--username",
            "demo",
            config=config,
            POLYLOG_PASSWORD="demo-polylog",
        )
        assert ran.status == 0, ran.stderr
    return config


def one_error_line(ran: Ran) -> str:
    """The refusal as the user sees it: one line on stderr, nothing on stdout, no traceback."""
    lines = ran.stderr.splitlines()
    assert len(lines) == 1, ran.stderr
    assert lines[0].startswith("polylog: error: ")
    assert ran.stdout == ""
    return lines[0]


def add_polygon(site: Site, item_id: int, points: list[list[float]], label_class_id: int) -> int:
    command = {
        "type": "add_polygon",
        "shape_id": str(uuid.uuid4()),
        "label_class_id": label_class_id,
        "points": points,
    }
    answer = site.api(f"items/{item_id}/commands/", {"command_id": str(uuid.uuid4()), "command": command})
    return answer["seq"]


# login and jobs -------------------------------------------------------------------------------------


def test_login_keeps_a_token_readable_by_its_owner_only_and_jobs_lists_the_job(site: Site) -> None:
    config = site.home / "login.json"

    ran = polylog(
        site,
        "login",
        "--server",
        site.url,
        "--username",
        "demo",
        config=config,
        POLYLOG_PASSWORD="demo-polylog",
    )

    assert ran.status == 0, ran.stderr
    stored = json.loads(config.read_text())
    assert stored["server"] == site.url
    token = stored["servers"][site.url]["token"]
    assert http_json(f"{site.url}/api/jobs/", token=token)[0]["id"] == site.job["id"]
    assert config.stat().st_mode & 0o777 == 0o600
    listed = polylog(site, "jobs", config=config)
    assert listed.status == 0, listed.stderr
    (header, row) = listed.stdout.splitlines()
    assert re.split(r"\s{2,}", header) == ["ID", "NAME", "ROLE", "LABELED", "DATASET", "LABELS"]
    cells = re.split(r"\s{2,}", row)
    assert cells[:4] == [str(site.job["id"]), site.job["name"], "manager", f"0/{PHOTOS}"]
    assert cells[5].startswith("person, bottle, chair")
    as_json = polylog(site, "jobs", "--json", config=config)
    assert [job["id"] for job in json.loads(as_json.stdout)] == [site.job["id"]]


def test_a_wrong_password_is_one_line_with_the_servers_code_and_stores_nothing(site: Site) -> None:
    config = site.home / "wrong.json"

    ran = polylog(
        site, "login", "--server", site.url, "--username", "demo", config=config, POLYLOG_PASSWORD="not-it"
    )

    assert ran.status == 1
    assert "invalid_credentials" in one_error_line(ran)
    assert not config.exists()


def test_without_a_login_a_command_says_so_in_one_line(site: Site) -> None:
    ran = polylog(site, "jobs", "--server", site.url, config=site.home / "nobody.json")

    assert ran.status == 1
    assert (
        one_error_line(ran)
        == f"polylog: error: not logged in to {site.url}: run polylog login --server {site.url}"
    )


def test_a_server_that_does_not_answer_is_one_line_and_exit_3(site: Site) -> None:
    down = f"http://127.0.0.1:{free_port()}"

    ran = polylog(site, "login", "--server", down, "--username", "demo", POLYLOG_PASSWORD="x")

    assert ran.status == 3
    assert f"cannot reach {down}" in one_error_line(ran)


def test_an_unknown_job_is_the_servers_404_in_one_line_and_writes_no_file(site: Site) -> None:
    ran = polylog(site, "export", "999999", "--format", "coco", "-o", "nothing.zip")

    assert ran.status == 1
    assert one_error_line(ran).startswith("polylog: error: not_found: ")
    assert sorted(p.name for p in site.home.glob("*.zip*")) == []


def test_a_format_the_server_has_not_is_its_refusal_in_one_line(site: Site) -> None:
    folder = site.home / "bmp"
    folder.mkdir()
    (folder / "labels.json").write_text("{}")

    exported = polylog(site, "export", str(site.job["id"]), "--format", "bmp")
    imported = polylog(site, "import", str(site.job["id"]), str(folder), "--format", "bmp")

    assert exported.status == imported.status == 1
    assert one_error_line(exported).startswith("polylog: error: invalid_request: ")
    assert one_error_line(imported).startswith("polylog: error: invalid_request: ")


def test_a_wrong_command_line_is_one_line_and_exit_2(site: Site) -> None:
    ran = polylog(site, "replay", "not-a-number")

    assert ran.status == 2
    assert "invalid int value" in one_error_line(ran)


# import ---------------------------------------------------------------------------------------------


def test_import_uploads_a_folder_into_the_jobs_dataset_with_a_progress_bar(site: Site) -> None:
    folder = site.home / "new-photos"
    for n, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
        (folder / "sub").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), colour).save(folder / ("sub" if n else "") / f"new_{n}.png")
    (folder / ".hidden.png").write_bytes(b"not sent")
    before = site.api(f"jobs/{site.job['id']}/")["progress"]["total"]

    ran = polylog(site, "import", str(site.job["id"]), str(folder), "--json", "--progress")

    assert ran.status == 0, ran.stderr
    summary, *rest = ran.stdout.splitlines()
    (record,) = json.loads("\n".join(rest))
    assert summary == f"import {record['id']}: done: 2 added, 0 duplicates, 0 failed"
    assert (record["total"], record["added"], record["source"]) == (2, 2, "upload")
    assert "upload: 100%" in ran.stderr
    assert site.api(f"jobs/{site.job['id']}/")["progress"]["total"] == before + 2
    names = {item["image"]["name"] for item in site.api(f"jobs/{site.job['id']}/items/?q=new_")["results"]}
    assert names == {"new_0.png", "new_1.png"}


def test_import_of_a_labeled_coco_file_labels_the_image_it_names(site: Site) -> None:
    item_id = site.item_ids[0]
    image = site.api(f"items/{item_id}/state/")["image"]
    name = site.api(f"jobs/{site.job['id']}/items/?status=all")["results"][0]["image"]["name"]
    annotation = {"category_id": 1, "iscrowd": 0}
    coco = {
        "images": [
            {"id": 1, "file_name": name, "width": image["width"], "height": image["height"]},
            {"id": 2, "file_name": "missing.png", "width": 10, "height": 10},
        ],
        "categories": [{"id": 1, "name": "cli-cat"}],
        "annotations": [
            {"id": 1, "image_id": 1, "segmentation": [[10, 10, 90, 10, 50, 70]], **annotation},
            {"id": 2, "image_id": 2, "segmentation": [[1, 1, 9, 1, 5, 8]], **annotation},
        ],
    }
    path = site.home / "instances.json"
    path.write_text(json.dumps(coco))

    ran = polylog(site, "import", str(site.job["id"]), str(path), "--format", "coco")

    assert ran.status == 0, ran.stderr
    summary, refused = ran.stdout.splitlines()
    assert summary.endswith("1 objects added, 1 refused")
    assert refused.startswith(
        "  refused instances.json missing.png: instances.json refers to the image 'missing.png'"
    )
    labels = {label["name"]: label["id"] for label in site.api(f"jobs/{site.job['id']}/label-classes/")}
    shapes = site.api(f"items/{item_id}/state/")["shapes"]
    assert [
        (s["label_class_id"], s["points"]) for s in shapes if s["label_class_id"] == labels["cli-cat"]
    ] == [(labels["cli-cat"], [[10.0, 10.0], [90.0, 10.0], [50.0, 70.0]])]


def test_import_of_a_labeled_labelme_folder_adds_its_images_with_their_polygons(site: Site) -> None:
    folder = site.home / "labelme"
    folder.mkdir()
    Image.new("RGB", (64, 48), (20, 20, 220)).save(folder / "lm_0.png")
    document = {
        "version": "5.4.1",
        "flags": {},
        "shapes": [
            {
                "label": "cli-dog",
                "points": [[4, 4], [40, 4], [20, 30]],
                "group_id": None,
                "shape_type": "polygon",
            }
        ],
        "imagePath": "lm_0.png",
        "imageData": None,
        "imageHeight": 48,
        "imageWidth": 64,
    }
    (folder / "lm_0.json").write_text(json.dumps(document))

    ran = polylog(site, "import", str(site.job["id"]), str(folder), "--format", "labelme")

    assert ran.status == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        ran.stdout.split(":")[0] + ": done: 1 added, 0 duplicates, 0 failed; 1 objects added, 0 refused"
    ]
    (item,) = site.api(f"jobs/{site.job['id']}/items/?q=lm_0")["results"]
    labels = {label["name"]: label["id"] for label in site.api(f"jobs/{site.job['id']}/label-classes/")}
    shapes = site.api(f"items/{item['id']}/state/")["shapes"]
    assert [(s["label_class_id"], s["points"]) for s in shapes] == [
        (labels["cli-dog"], [[4.0, 4.0], [40.0, 4.0], [20.0, 30.0]])
    ]


def test_a_labeled_folder_in_several_requests_labels_images_the_earlier_requests_imported(site: Site) -> None:
    folder = site.home / "coco-batches"
    folder.mkdir()
    names = [f"batch_{n}.png" for n in range(3)]
    for n, name in enumerate(names):
        Image.new("RGB", (64, 48), (90, 30 + 60 * n, 120)).save(folder / name)
    coco = {
        "images": [
            {"id": n + 1, "file_name": name, "width": 64, "height": 48} for n, name in enumerate(names)
        ],
        "categories": [{"id": 1, "name": "cli-batch"}],
        "annotations": [
            {
                "id": n + 1,
                "image_id": n + 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentation": [[2, 2, 30, 2, 16, 20]],
            }
            for n in range(3)
        ],
    }
    (folder / "instances.json").write_text(json.dumps(coco))

    ran = polylog(
        site, "import", str(site.job["id"]), str(folder), "--format", "coco", "--batch", "2", "--json"
    )

    assert ran.status == 0, ran.stderr
    records = json.loads(ran.stdout[ran.stdout.index("[") :])
    assert [(r["format"], r["added"], r["objects_added"]) for r in records] == [("", 2, 0), ("coco", 1, 3)]
    labels = {label["name"]: label["id"] for label in site.api(f"jobs/{site.job['id']}/label-classes/")}
    items = site.api(f"jobs/{site.job['id']}/items/?q=batch_")["results"]
    assert sorted(item["image"]["name"] for item in items) == names
    for item in items:
        shapes = site.api(f"items/{item['id']}/state/")["shapes"]
        assert [s["label_class_id"] for s in shapes] == [labels["cli-batch"]], item["image"]["name"]


def test_a_single_annotation_file_without_its_format_is_refused_before_any_upload(site: Site) -> None:
    path = site.home / "labels.json"
    path.write_text("{}")

    ran = polylog(site, "import", str(site.job["id"]), str(path))

    assert ran.status == 1
    assert "--format" in one_error_line(ran)


# export ---------------------------------------------------------------------------------------------


def coco_of(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as archive:
        return json.loads(archive.read("annotations/instances_default.json"))


def test_export_writes_the_streamed_zip_of_a_small_selection(site: Site) -> None:
    name = site.api(f"jobs/{site.job['id']}/items/?status=all")["results"][1]["image"]["name"]

    ran = polylog(site, "export", str(site.job["id"]), "--format", "coco", "--q", name, "-o", "small.zip")

    assert ran.status == 0, ran.stderr
    assert ran.stdout.startswith("small.zip (")
    coco = coco_of(site.home / "small.zip")
    assert [image["file_name"] for image in coco["images"]] == [name]
    assert [c["name"] for c in coco["categories"]][:2] == ["person", "bottle"]


def test_export_of_a_large_selection_follows_the_queued_export_to_its_zip(site: Site) -> None:
    items = site.api(f"jobs/{site.job['id']}/items/?status=all")
    assert items["count"] >= QUEUE_ITEMS

    ran = polylog(site, "export", str(site.job["id"]), "--format", "coco", "-o", "all.zip", "--progress")

    assert ran.status == 0, ran.stderr
    assert re.search(
        r"export \d+: 100%", ran.stderr
    )  # the queued export's bar: items written of all selected
    coco = coco_of(site.home / "all.zip")
    assert sorted(image["id"] for image in coco["images"]) == sorted(item["id"] for item in items["results"])
    assert not [p.name for p in site.home.glob(".all.zip-*")]


# watch ----------------------------------------------------------------------------------------------


def lines_of(stream: Any) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def test_watch_prints_an_event_another_client_makes_as_one_json_line(site: Site) -> None:
    item_id = site.item_ids[1]
    label = site.job["label_classes"][0]["id"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POLYLOG_")}
    environment["POLYLOG_CONFIG"] = str(logged_in(site))
    watcher = subprocess.Popen(
        [str(POLYLOG), "watch", str(item_id), "--count", "1"],
        cwd=site.home,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        said, printed = lines_of(watcher.stderr), lines_of(watcher.stdout)
        assert said.get(timeout=60).startswith(f"watching item {item_id} after seq ")

        seq = add_polygon(site, item_id, [[5, 5], [50, 5], [25, 40]], label)

        event = json.loads(printed.get(timeout=60))
        assert watcher.wait(timeout=60) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
    assert (event["seq"], event["type"], event["actor"]) == (seq, "polygon_added", site.demo_id)
    assert event["payload"]["points"] == [[5.0, 5.0], [50.0, 5.0], [25.0, 40.0]]


def test_watch_ends_in_one_line_when_the_server_closes_the_socket_as_its_token_is_revoked(site: Site) -> None:
    config = site.home / "revoked.json"
    logged = polylog(
        site,
        "login",
        "--server",
        site.url,
        "--username",
        "demo",
        config=config,
        POLYLOG_PASSWORD="demo-polylog",
    )
    assert logged.status == 0, logged.stderr
    token = json.loads(config.read_text())["servers"][site.url]["token"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POLYLOG_")}
    environment["POLYLOG_CONFIG"] = str(config)
    watcher = subprocess.Popen(
        [str(POLYLOG), "watch", str(site.item_ids[1])],
        cwd=site.home,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        said = lines_of(watcher.stderr)
        assert said.get(timeout=60).startswith("watching item ")

        revoke = urllib.request.Request(
            f"{site.url}/api/auth/token/", method="DELETE", headers={"Authorization": f"Token {token}"}
        )
        DIRECT.open(revoke, timeout=30).close()

        assert watcher.wait(timeout=60) == 1
        line = said.get(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
    assert (
        line
        == f"polylog: error: the server closed the connection to item {site.item_ids[1]}: websocket closed (4403)\n"
    )
    assert said.empty() and watcher.stdout is not None and watcher.stdout.read() == ""


def test_watch_of_an_item_you_cannot_see_is_the_servers_404_in_one_line(site: Site) -> None:
    ran = polylog(site, "watch", "999999")

    assert ran.status == 1
    assert one_error_line(ran).startswith("polylog: error: not_found: ")


# replay ---------------------------------------------------------------------------------------------


def test_replay_at_a_seq_gives_the_state_then_and_a_png_showing_its_polygons_only(site: Site) -> None:
    item_id = site.item_ids[2]
    first_label, second_label = site.job["label_classes"][0], site.job["label_classes"][2]
    at = add_polygon(site, item_id, [[100, 100], [300, 100], [300, 300], [100, 300]], first_label["id"])
    later = add_polygon(site, item_id, [[400, 100], [600, 100], [600, 300], [400, 300]], second_label["id"])
    assert later > at

    as_json = polylog(site, "replay", str(item_id), "--seq", str(at))
    as_png = polylog(site, "replay", str(item_id), "--seq", str(at), "--png", "at.png")

    assert as_json.status == 0, as_json.stderr
    state = json.loads(as_json.stdout)
    assert state == site.api(f"items/{item_id}/state/?at_seq={at}")
    assert state["seq"] == at and [s["label_class_id"] for s in state["shapes"]] == [first_label["id"]]
    assert as_png.status == 0, as_png.stderr
    png = Image.open(site.home / "at.png").convert("RGB")
    image = site.image(item_id)
    assert png.size == image.size
    colour = tuple(int(first_label["color"][n : n + 2], 16) for n in (1, 3, 5))
    inside, beside = (200, 200), (500, 200)  # inside the first polygon; inside the later one only
    tinted = tuple(round(b * 0.65 + c * 0.35) for b, c in zip(image.getpixel(inside), colour, strict=True))
    assert all(abs(p - t) <= 2 for p, t in zip(png.getpixel(inside), tinted, strict=True)), (
        png.getpixel(inside),
        tinted,
    )
    assert png.getpixel(beside) == image.getpixel(beside)  # drawn later than the seq asked for


def test_replay_at_a_time_gives_the_state_at_that_time(site: Site) -> None:
    item_id = site.item_ids[0]
    label = site.job["label_classes"][1]["id"]
    at = add_polygon(site, item_id, [[20, 200], [80, 200], [50, 260]], label)
    (event,) = site.api(f"items/{item_id}/events/?after={at - 1}")["results"]
    later = add_polygon(site, item_id, [[120, 200], [180, 200], [150, 260]], label)

    ran = polylog(site, "replay", str(item_id), "--time", event["created_at"])

    assert ran.status == 0, ran.stderr
    state = json.loads(ran.stdout)
    assert state["seq"] == at < later
    assert state == site.api(f"items/{item_id}/state/?at_seq={at}")
