"""Add data: uploads and storage-path imports, with their history, per-file refusals and the sync after."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.datasets.imports import import_wait
from apps.datasets.models import DataImport
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def finished(response: Any) -> DataImport:
    assert response.status_code == 202, response.json()
    import_id = response.json()["id"]
    import_wait(import_id, timeout=60)
    record = DataImport.objects.get(pk=import_id)
    assert record.status == DataImport.Status.DONE, record.errors
    return record


def upload(api: Any, dataset: Any, files: list[tuple[str, bytes]]) -> Any:
    payload = {"files": [SimpleUploadedFile(name, content) for name, content in files]}
    return api.post(f"/api/datasets/{dataset.pk}/imports/", payload, format="multipart")


def test_an_upload_adds_images_with_thumbnails_skips_a_bad_file_and_syncs_the_job(
    dataset: Any, job: Any, manager_api: Any
) -> None:
    files = [
        ("new_1.png", png_bytes(40, 30, (1, 1, 1))),
        ("notes.txt", b"not an image"),
        ("new_2.png", png_bytes(50, 20, (2, 2, 2))),
    ]

    record = finished(upload(manager_api, dataset, files))

    assert (record.total, record.added, record.failed, record.duplicates) == (3, 2, 1, 0)
    assert record.errors == [{"file": "notes.txt", "reason": "not an image (Pillow cannot read it)"}]
    added = dataset.images.filter(path__in=["new_1.png", "new_2.png"])
    assert sorted((i.width, i.height) for i in added) == [(40, 30), (50, 20)]
    assert all(default_storage.exists(i.thumbnail.name) for i in added)
    assert job.items.filter(image__in=added).count() == 2  # synchronised after the import


def test_a_file_already_in_the_dataset_is_skipped_as_a_duplicate(dataset: Any, manager_api: Any) -> None:
    same = png_bytes(100, 80)  # the bytes of the fixture's cat_001.png

    record = finished(upload(manager_api, dataset, [("again.png", same)]))

    assert (record.added, record.duplicates) == (0, 1)
    assert not dataset.images.filter(path="again.png").exists()


def test_truncated_files_and_decompression_bombs_are_refused_with_their_reason(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_IMAGE_PIXELS": 1000}
    truncated = png_bytes(30, 30)[:-30]  # 900 pixels: under the limit, so only its damage counts
    big = png_bytes(200, 200, (9, 9, 9))  # 40,000 pixels, far past the limit
    fine = png_bytes(20, 20, (7, 7, 7))

    record = finished(
        upload(manager_api, dataset, [("cut.png", truncated), ("bomb.png", big), ("ok.png", fine)])
    )

    reasons = {e["file"]: e["reason"] for e in record.errors}
    assert record.added == 1
    assert reasons["cut.png"].startswith("truncated or damaged image") or reasons["cut.png"].startswith(
        "not an image"
    )
    assert reasons["bomb.png"].startswith("decompression bomb")


def test_an_uploaded_name_that_climbs_out_is_refused_and_the_rest_goes_on(
    dataset: Any, manager_api: Any
) -> None:
    record = finished(
        upload(
            manager_api,
            dataset,
            [
                ("../../etc/evil.png", png_bytes(10, 10, (3, 3, 3))),
                ("good.png", png_bytes(11, 11, (4, 4, 4))),
            ],
        )
    )

    # Django's upload handling already strips directories from names; what arrives is refused or kept flat.
    assert record.added + record.failed == 2
    assert not any(".." in image.path for image in dataset.images.all())


def test_a_path_import_walks_a_storage_folder_recursively(dataset: Any, manager_api: Any) -> None:
    default_storage.save("incoming/a.png", ContentFile(png_bytes(12, 12, (5, 5, 5))))
    default_storage.save("incoming/deeper/b.png", ContentFile(png_bytes(13, 13, (6, 6, 6))))
    default_storage.save("incoming/deeper/readme.txt", ContentFile(b"hello"))

    record = finished(
        manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "incoming"}, format="json")
    )

    assert (record.total, record.added, record.failed) == (3, 2, 1)
    assert set(dataset.images.filter(path__in=["a.png", "deeper/b.png"]).values_list("path", flat=True)) == {
        "a.png",
        "deeper/b.png",
    }


@pytest.mark.parametrize("path", ["../outside", "/etc", "incoming/../../x"])
def test_a_path_that_escapes_storage_is_refused(dataset: Any, manager_api: Any, path: str) -> None:
    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": path}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "path_outside_storage"
    assert DataImport.objects.count() == 0


def test_the_history_lists_each_import_with_its_counts(
    dataset: Any, job: Any, manager_api: Any, auditor_api: Any
) -> None:
    record = finished(upload(manager_api, dataset, [("h.png", png_bytes(14, 14, (8, 8, 8)))]))

    history = auditor_api.get(f"/api/datasets/{dataset.pk}/imports/").json()
    detail = auditor_api.get(f"/api/imports/{record.pk}/").json()

    assert [(h["id"], h["added"], h["status"], h["source"]) for h in history] == [
        (record.pk, 1, "done", "upload")
    ]
    assert detail["actor_name"] == "mia_manager"


@pytest.mark.parametrize(
    ("who", "status"), [("annotator_api", 403), ("auditor_api", 403), ("outsider_api", 404)]
)
def test_only_managers_add_data(request: Any, dataset: Any, job: Any, who: str, status: int) -> None:
    response = upload(request.getfixturevalue(who), dataset, [("x.png", png_bytes(10, 10, (1, 2, 3)))])

    assert response.status_code == status
    assert DataImport.objects.count() == 0


def test_a_request_with_neither_files_nor_path_is_a_400(dataset: Any, manager_api: Any) -> None:
    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {}, format="json")

    assert response.status_code == 400


def test_a_file_whose_name_climbs_out_of_the_import_is_refused_by_the_worker(
    dataset: Any, manager: Any
) -> None:
    from apps.datasets.imports import dataset_import_start

    record = dataset_import_start(
        dataset=dataset,
        actor=manager,
        uploads=[
            ("../../escape.png", png_bytes(10, 10, (3, 3, 3))),
            ("kept.png", png_bytes(11, 11, (4, 4, 4))),
        ],
    )
    import_wait(record.pk, timeout=60)
    record.refresh_from_db()

    assert (record.added, record.failed) == (1, 1)
    assert record.errors == [{"file": "../../escape.png", "reason": "the path escapes the import root"}]


def test_the_import_data_command_imports_a_storage_folder_and_reports(dataset: Any, job: Any) -> None:
    from django.core.management import call_command

    default_storage.save("cli/one.png", ContentFile(png_bytes(15, 15, (6, 1, 1))))
    out = io.StringIO()

    call_command("import_data", str(dataset.pk), "cli", "--user", dataset.created_by.username, stdout=out)

    assert "1 added, 0 duplicates, 0 failed" in out.getvalue()
    assert job.items.filter(image__path="one.png").exists()
