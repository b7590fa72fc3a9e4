"""Images on S3-compatible storage (django-storages), against a real S3 server on loopback (moto_server)."""

from __future__ import annotations

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

from apps.datasets.models import Dataset
from apps.datasets.services import image_create
from apps.labeling.services import job_create
from tests.conftest import png_bytes

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
    from django.core.files.base import ContentFile

    from apps.datasets.imports import dataset_import_start, import_wait

    dataset = Dataset.objects.create(name="On S3", created_by=manager)
    job = job_create(name="S3 job", dataset=dataset, created_by=manager)
    default_storage.save("incoming/one.png", ContentFile(png_bytes(21, 21, (1, 5, 9))))
    default_storage.save("incoming/sub/two.png", ContentFile(png_bytes(22, 22, (2, 5, 9))))
    default_storage.save("incoming/sub/notes.txt", ContentFile(b"text"))

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
