"""Images on S3-compatible storage (django-storages), against a real S3 server on loopback (moto_server)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from apps.datasets.models import Dataset
from apps.datasets.services import image_create
from apps.datasets.tasks import SOURCE_FILES_DELETE_TASK
from apps.labeling.services import job_create
from apps.tasks.models import TaskRun
from apps.tasks.services import task_wait
from tests.conftest import import_put, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)
BUCKET = "polylog-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("moto[server] is not installed; it is a dev dependency (pyproject.toml)")
        pytest.skip("moto[server] is not installed")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)  # polling the port until the server answers
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def s3(settings: Any, s3_endpoint: str) -> Any:
    import boto3

    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    bucket = boto3.resource("s3", endpoint_url=s3_endpoint, **credentials).Bucket(BUCKET)
    bucket.create()
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_ROOT": "import/"}  # the default with a bucket
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "access_key": "test",
                "secret_key": "test",
                "region_name": "us-east-1",
            },
        },
    }
    yield bucket
    bucket.objects.all().delete()
    bucket.delete()


def keys(bucket: Any) -> set[str]:
    return {obj.key for obj in bucket.objects.all()}


def test_an_image_and_its_thumbnail_are_stored_in_the_bucket(s3: Any, manager: Any) -> None:
    dataset = Dataset.objects.create(name="On S3", created_by=manager)

    image = image_create(dataset=dataset, path="shelf/cat.png", content=png_bytes(64, 48))

    assert {image.file.name, image.thumbnail.name} <= keys(s3)
    assert (image.width, image.height) == (64, 48)
    assert default_storage.open(image.file.name).read() == png_bytes(64, 48)
    assert image.file.url.startswith("http://127.0.0.1:")


def test_deleting_images_with_their_source_files_removes_them_from_the_bucket(
    s3: Any, manager: Any, client_for: Any
) -> None:
    dataset = Dataset.objects.create(name="On S3", created_by=manager)
    kept = image_create(dataset=dataset, path="a.png", content=png_bytes(30, 20))
    gone = image_create(dataset=dataset, path="b.png", content=png_bytes(30, 20, (1, 2, 3)))
    job = job_create(name="S3 job", dataset=dataset, created_by=manager)
    item = job.items.get(image=gone)

    response = client_for(manager).post(
        "/api/items/delete/", {"item_ids": [item.pk], "delete_source_files": True}, format="json"
    )

    assert response.status_code == 200
    run = TaskRun.objects.get(kind=SOURCE_FILES_DELETE_TASK)  # the queue deletes them, after the answer
    assert task_wait(run.pk, timeout=30).status == TaskRun.Status.DONE
    remaining = keys(s3)
    assert gone.file.name not in remaining and gone.thumbnail.name not in remaining
    assert kept.file.name in remaining


def test_deleting_images_without_their_source_files_keeps_the_bucket_as_it_was(
    s3: Any, manager: Any, client_for: Any
) -> None:
    dataset = Dataset.objects.create(name="On S3", created_by=manager)
    image = image_create(dataset=dataset, path="a.png", content=png_bytes(30, 20))
    job = job_create(name="S3 job", dataset=dataset, created_by=manager)
    before = keys(s3)

    response = client_for(manager).post(
        "/api/items/delete/", {"item_ids": [job.items.get(image=image).pk]}, format="json"
    )

    assert response.status_code == 200
    assert keys(s3) == before


@pytest.mark.django_db(transaction=False)
def test_the_settings_choose_s3_when_a_bucket_is_configured(tmp_path: Any) -> None:
    env = {
        **os.environ,
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "POLYLOG_VAR_DIR": str(tmp_path),
    }
    code = "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'], settings.AWS_S3_ENDPOINT_URL)"
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); {code}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert shown == ["storages.backends.s3.S3Storage", "http://127.0.0.1:9"]


def test_imports_from_a_bucket_prefix_and_from_an_upload_land_in_the_bucket(s3: Any, manager: Any) -> None:
    from apps.datasets.imports import dataset_import_start, import_wait

    dataset = Dataset.objects.create(name="On S3", created_by=manager)
    job = job_create(name="S3 job", dataset=dataset, created_by=manager)
    import_put("incoming/one.png", png_bytes(21, 21, (1, 5, 9)))
    import_put("incoming/sub/two.png", png_bytes(22, 22, (2, 5, 9)))
    import_put("incoming/sub/notes.txt", b"text")
    assert "import/incoming/one.png" in keys(s3)

    from_prefix = dataset_import_start(dataset=dataset, actor=manager, path="incoming")
    import_wait(from_prefix.pk, 60)
    uploaded = dataset_import_start(
        dataset=dataset,
        actor=manager,
        uploads=[
            ("three.png", png_bytes(23, 23, (3, 5, 9))),
            ("one-again.png", png_bytes(21, 21, (1, 5, 9))),
        ],
    )
    import_wait(uploaded.pk, 60)
    from_prefix.refresh_from_db()
    uploaded.refresh_from_db()

    assert (from_prefix.added, from_prefix.failed) == (2, 1)
    assert (uploaded.added, uploaded.duplicates) == (1, 1)
    stored = keys(s3)
    for image in dataset.images.all():
        assert {image.file.name, image.thumbnail.name} <= stored
    assert job.items.count() == 3


def content_type(bucket: Any, key: str) -> str:
    return bucket.Object(key).content_type


def test_an_object_is_named_and_typed_for_the_format_of_its_bytes(s3: Any, manager: Any) -> None:
    dataset = Dataset.objects.create(name="On S3", created_by=manager)
    gif = io.BytesIO()
    PILImage.new("P", (12, 12)).save(gif, format="GIF")

    page = image_create(dataset=dataset, path="y.html", content=png_bytes(20, 20))
    script = image_create(dataset=dataset, path="p2.js", content=gif.getvalue())

    assert (page.file.name, script.file.name) == (
        f"datasets/{dataset.pk}/y.html.png",
        f"datasets/{dataset.pk}/p2.js.gif",
    )
    assert content_type(s3, page.file.name) == "image/png"
    assert content_type(s3, script.file.name) == "image/gif"
    assert content_type(s3, page.thumbnail.name) == "image/jpeg"


def test_the_content_type_is_set_from_the_detected_format_not_guessed_from_the_name(
    s3: Any, manager: Any, monkeypatch: Any
) -> None:
    import storages.backends.s3

    dataset = Dataset.objects.create(name="On S3", created_by=manager)
    # Without the explicit type, django-storages guesses from the name, and with no guess it says
    # application/octet-stream.
    monkeypatch.setattr(storages.backends.s3.mimetypes, "guess_type", lambda name, strict=True: (None, None))

    image = image_create(dataset=dataset, path="scan.png", content=png_bytes(12, 12))

    assert content_type(s3, image.file.name) == "image/png"
    assert content_type(s3, image.thumbnail.name) == "image/jpeg"


@pytest.mark.parametrize(
    ("prefix", "path", "code"),
    [
        ("import/", "../datasets/{id}", "path_outside_storage"),
        ("import/", "datasets/{id}", "invalid_request"),  # there is no such folder under import/
        ("import/", "/datasets/{id}", "path_outside_storage"),
        ("", "datasets/{id}", "path_outside_storage"),  # a prefix set to the whole bucket still
        ("", "thumbnails/{id}", "path_outside_storage"),  # never reaches the app's own keys
        ("datasets/", "{id}", "path_outside_storage"),
    ],
)
def test_a_prefix_import_never_reads_another_datasets_objects(
    s3: Any, manager: Any, make_user: Any, settings: Any, prefix: str, path: str, code: str
) -> None:
    from apps.common.errors import ApiError
    from apps.datasets.imports import dataset_import_start
    from apps.datasets.models import DataImport

    private = Dataset.objects.create(name="Private", created_by=make_user("pia_private"))
    image_create(dataset=private, path="secret.png", content=png_bytes(31, 31, (3, 1, 4)))
    mine = Dataset.objects.create(name="Mine", created_by=manager)
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_ROOT": prefix}

    with pytest.raises(ApiError) as refused:
        dataset_import_start(dataset=mine, actor=manager, path=path.format(id=private.pk))

    assert refused.value.code == code
    assert DataImport.objects.count() == 0
    assert not mine.images.exists()


def test_a_queued_export_goes_to_the_bucket_downloads_from_it_and_expires_from_it(
    s3: Any, manager: Any, client_for: Any, settings: Any
) -> None:
    import zipfile
    from datetime import timedelta

    from django.utils import timezone

    from apps.interchange.models import Export

    settings.POLYLOG = {**settings.POLYLOG, "EXPORT_QUEUE_ITEMS": 1}
    dataset = Dataset.objects.create(name="On S3", created_by=manager)
    image_create(dataset=dataset, path="a.png", content=png_bytes(30, 20))
    job = job_create(name="S3 job", dataset=dataset, created_by=manager)
    api = client_for(manager)

    response = api.get(f"/api/jobs/{job.pk}/export/?format=yolo&images=true")

    assert response.status_code == 202, response.content
    export = Export.objects.get(pk=response.json()["id"])
    assert task_wait(export.run_id, timeout=60).status == TaskRun.Status.DONE
    export.refresh_from_db()
    assert export.file.startswith(f"exports/{job.pk}/{export.pk}/") and export.file in keys(s3)
    download = api.get(f"/api/exports/{export.pk}/download/")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    (image,) = [name for name in archive.namelist() if name.endswith("/a.png")]
    assert archive.read(image) == png_bytes(30, 20)

    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get(f"/api/exports/{export.pk}/download/").status_code == 410
    assert export.file not in keys(s3)
