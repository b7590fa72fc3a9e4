"""Add data: uploads and path imports from the import root, with their history, per-file refusals and the
sync after; a path import reads nothing outside the import root (another dataset's files above all)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.datasets.imports import import_wait
from apps.datasets.models import DataImport, Dataset
from apps.datasets.services import image_create
from tests.conftest import import_put, png_bytes

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


def test_a_path_import_walks_a_folder_of_the_import_root_recursively(dataset: Any, manager_api: Any) -> None:
    import_put("incoming/a.png", png_bytes(12, 12, (5, 5, 5)))
    import_put("incoming/deeper/b.png", png_bytes(13, 13, (6, 6, 6)))
    import_put("incoming/deeper/readme.txt", b"hello")

    record = finished(
        manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "incoming"}, format="json")
    )

    assert (record.total, record.added, record.failed) == (3, 2, 1)
    assert set(dataset.images.filter(path__in=["a.png", "deeper/b.png"]).values_list("path", flat=True)) == {
        "a.png",
        "deeper/b.png",
    }


@pytest.mark.parametrize("path", ["../outside", "/etc", "incoming/../../x", "..", "../media/datasets"])
def test_a_path_that_escapes_the_import_root_is_refused(dataset: Any, manager_api: Any, path: str) -> None:
    import_put("incoming/a.png", png_bytes(12, 12, (5, 5, 5)))

    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": path}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "path_outside_storage"
    assert DataImport.objects.count() == 0


# Another dataset's files ------------------------------------------------------------------------------


@pytest.fixture
def private(make_user: Any) -> Dataset:
    """A dataset of someone else's, with an image the fixtures' manager must never see."""
    dataset = Dataset.objects.create(name="Private", created_by=make_user("pia_private"))
    image_create(dataset=dataset, path="secret.png", content=png_bytes(33, 33, (6, 6, 6)))
    return dataset


def server_folders(settings: Any) -> list[str]:
    return [str(Path(settings.MEDIA_ROOT).parent), os.path.realpath(Path(settings.MEDIA_ROOT).parent)]


@pytest.mark.parametrize("folder", ["datasets/{id}", "thumbnails/{id}", "datasets", "../media/datasets/{id}"])
def test_a_path_import_cannot_read_another_datasets_files(
    dataset: Any, private: Dataset, manager_api: Any, settings: Any, folder: str
) -> None:
    images_before = dataset.images.count()

    response = manager_api.post(
        f"/api/datasets/{dataset.pk}/imports/", {"path": folder.format(id=private.pk)}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] in ("path_outside_storage", "invalid_request")
    assert DataImport.objects.count() == 0
    assert dataset.images.count() == images_before
    assert not any(folder in response.json()["message"] for folder in server_folders(settings))


@pytest.mark.parametrize("folder", ["datasets/{id}", "thumbnails/{id}", "datasets"])
def test_an_import_root_set_to_the_media_folder_still_never_reads_the_apps_own_files(
    dataset: Any, private: Dataset, manager_api: Any, settings: Any, folder: str
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_ROOT": str(settings.MEDIA_ROOT)}

    response = manager_api.post(
        f"/api/datasets/{dataset.pk}/imports/", {"path": folder.format(id=private.pk)}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "path_outside_storage"
    assert DataImport.objects.count() == 0


def test_a_symlinked_folder_that_leaves_the_import_root_is_refused(
    dataset: Any, private: Dataset, manager_api: Any, settings: Any
) -> None:
    root = Path(settings.POLYLOG["IMPORT_ROOT"])
    root.mkdir(parents=True)
    (root / "shortcut").symlink_to(Path(settings.MEDIA_ROOT) / "datasets" / str(private.pk))

    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "shortcut"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "path_outside_storage"
    assert DataImport.objects.count() == 0
    assert not any(folder in response.json()["message"] for folder in server_folders(settings))


def test_symlinks_inside_a_folder_that_leave_the_root_are_refused_file_by_file(
    dataset: Any, private: Dataset, manager_api: Any, settings: Any
) -> None:
    import_put("mixed/own.png", png_bytes(17, 17, (1, 7, 7)))
    folder = Path(settings.POLYLOG["IMPORT_ROOT"]) / "mixed"
    secret = Path(settings.MEDIA_ROOT) / private.images.get().file.name
    (folder / "stolen.png").symlink_to(secret)
    (folder / "stolen-folder").symlink_to(secret.parent, target_is_directory=True)
    (folder / "inside.png").symlink_to(folder / "own.png")  # a symlink within the root is followed
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # walked once, not forever

    record = finished(
        manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "mixed"}, format="json")
    )

    reasons = {e["file"]: e["reason"] for e in record.errors}
    assert reasons == {
        "stolen.png": "the path escapes the import root",
        "stolen-folder": "the path escapes the import root",
    }
    assert (record.added, record.duplicates) == (1, 1)  # own.png, and inside.png is the same bytes
    assert not dataset.images.filter(checksum=private.images.get().checksum).exists()
    assert not any(folder in json.dumps(record.errors) for folder in server_folders(settings))


def test_a_fifo_in_the_folder_is_refused_without_blocking_the_import(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    import_put("pipes/own.png", png_bytes(18, 18, (1, 8, 8)))
    os.mkfifo(Path(settings.POLYLOG["IMPORT_ROOT"]) / "pipes" / "never-written")

    record = finished(
        manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "pipes"}, format="json")
    )

    assert record.errors == [{"file": "never-written", "reason": "not a regular file"}]
    assert record.added == 1


def test_neither_the_answer_nor_the_record_of_a_path_import_names_a_server_folder(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    import_put("shown/a.png", png_bytes(19, 19, (1, 9, 9)))

    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "shown/"}, format="json")
    record = finished(response)
    history = manager_api.get(f"/api/datasets/{dataset.pk}/imports/").content.decode()

    assert record.path == "shown"
    for folder in [settings.POLYLOG["IMPORT_ROOT"], *server_folders(settings)]:
        assert folder not in response.content.decode() and folder not in history


def test_a_missing_folder_is_named_relative_to_the_import_root(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "nowhere"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_request",
        "message": "There is no folder 'nowhere' in the import folder.",
    }


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

    import_put("cli/one.png", png_bytes(15, 15, (6, 1, 1)))
    out = io.StringIO()

    call_command("import_data", str(dataset.pk), "cli", "--user", dataset.created_by.username, stdout=out)

    assert "1 added, 0 duplicates, 0 failed" in out.getvalue()
    assert job.items.filter(image__path="one.png").exists()


def test_a_labeled_import_never_reads_an_annotation_file_through_a_symlink_that_leaves_the_root(
    dataset: Any, job: Any, manager_api: Any, settings: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "secret.json"
    outside.parent.mkdir()
    outside.write_text('{"images": [{"id": 1, "file_name": "the-secret-text"}]}')
    import_put("labeled/a.png", png_bytes(21, 21, (2, 1, 1)))
    (Path(settings.POLYLOG["IMPORT_ROOT"]) / "labeled" / "instances.json").symlink_to(outside)

    response = manager_api.post(
        f"/api/datasets/{dataset.pk}/imports/",
        {"path": "labeled", "format": "coco", "job": job.pk},
        format="json",
    )
    import_wait(response.json()["id"], timeout=60)
    record = DataImport.objects.get(pk=response.json()["id"])

    assert record.status == DataImport.Status.FAILED
    assert record.errors == [
        {"file": "", "reason": "the import stopped: 'labeled/instances.json' leads outside the import folder"}
    ]
    assert "the-secret-text" not in json.dumps(record.errors)
