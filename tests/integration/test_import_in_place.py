"""Path imports from an import root inside the media storage (the default) register each file where it is,
as Label Studio's local and cloud storages do: no copy, the image row names the file in the share. It must
still be what users get from a copy: served to the job's members only, a thumbnail made on the queue, a
re-import that skips it without deleting it, "delete source files" deleting it, and no file read through a
symlink swapped in after the import (apps/datasets/storage.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from apps.datasets import imports
from apps.datasets.imports import import_wait
from apps.datasets.models import DataImport, Dataset
from apps.datasets.services import image_create
from apps.datasets.tasks import SOURCE_FILES_DELETE_TASK
from apps.tasks.models import TaskRun
from apps.tasks.services import task_wait
from tests.conftest import import_put, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private(make_user: Any) -> Dataset:
    """A dataset of someone else's, with an image the fixtures' manager must never see."""
    dataset = Dataset.objects.create(name="Private", created_by=make_user("pia_private"))
    image_create(dataset=dataset, path="secret.png", content=png_bytes(33, 33, (6, 6, 6)))
    return dataset


def path_import(api: Any, dataset: Any, folder: str) -> DataImport:
    response = api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": folder}, format="json")
    assert response.status_code == 202, response.json()
    record = import_wait(response.json()["id"], timeout=60)
    assert record.status == DataImport.Status.DONE, record.errors
    return record


def media(client: Any, user: Any, name: str) -> Any:
    client.force_login(user)
    return client.get(f"/media/{name}")


def stored_files(settings: Any) -> set[str]:
    media = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()}


def test_a_path_import_registers_the_files_where_they_are_with_checksums_and_thumbnails(
    dataset: Any, job: Any, manager: Any, manager_api: Any, client: Any, in_storage: Path, settings: Any
) -> None:
    first, second = png_bytes(30, 20, (9, 9, 9)), png_bytes(40, 10, (8, 8, 8))
    import_put("shoot/a.png", first)
    import_put("shoot/deeper/b.png", second)
    before = stored_files(settings)

    record = path_import(manager_api, dataset, "shoot")

    assert (record.added, record.failed) == (2, 0)
    a, b = (dataset.images.get(path=path) for path in ("a.png", "deeper/b.png"))
    assert (a.file.name, b.file.name) == ("import/shoot/a.png", "import/shoot/deeper/b.png")
    assert a.checksum == hashlib.sha256(first).hexdigest() and (a.width, a.height) == (30, 20)
    # Nothing was written but the two thumbnails: no copy under datasets/.
    assert stored_files(settings) - before == {a.thumbnail.name, b.thumbnail.name}
    assert a.thumbnail.name.startswith(f"thumbnails/{dataset.pk}/")
    assert job.items.filter(image__in=[a, b]).count() == 2
    served = media(client, manager, a.file.name)
    assert served.status_code == 200 and b"".join(served.streaming_content) == first


def test_a_file_of_the_share_is_served_only_once_registered_and_only_to_the_datasets_people(
    dataset: Any, job: Any, manager: Any, manager_api: Any, outsider: Any, client: Any, in_storage: Path
) -> None:
    import_put("shoot/a.png", png_bytes(30, 20, (9, 9, 9)))
    assert media(client, manager, "import/shoot/a.png").status_code == 404  # not an image of the app yet

    path_import(manager_api, dataset, "shoot")

    assert media(client, manager, "import/shoot/a.png").status_code == 200
    assert media(client, outsider, "import/shoot/a.png").status_code == 404


def test_a_re_import_skips_the_files_as_duplicates_and_deletes_none(
    dataset: Any, manager_api: Any, in_storage: Path
) -> None:
    import_put("shoot/a.png", png_bytes(30, 20, (9, 9, 9)))
    path_import(manager_api, dataset, "shoot")

    again = path_import(manager_api, dataset, "shoot")

    assert (again.added, again.duplicates) == (0, 1)
    assert (in_storage / "shoot" / "a.png").is_file()
    assert default_storage.open("import/shoot/a.png").read() == png_bytes(30, 20, (9, 9, 9))


def test_deleting_the_source_files_deletes_the_file_in_the_share(
    dataset: Any, job: Any, manager_api: Any, in_storage: Path
) -> None:
    import_put("shoot/a.png", png_bytes(30, 20, (9, 9, 9)))
    path_import(manager_api, dataset, "shoot")
    item = job.items.get(image__path="a.png")

    response = manager_api.post(
        "/api/items/delete/", {"item_ids": [item.pk], "delete_source_files": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["files_deleted"] == ["import/shoot/a.png"]
    task_wait(TaskRun.objects.get(kind=SOURCE_FILES_DELETE_TASK).pk, 30)  # the deletion runs on the queue
    assert not (in_storage / "shoot" / "a.png").exists()


def test_a_registered_file_swapped_for_a_symlink_afterwards_is_never_read(
    dataset: Any,
    job: Any,
    private: Any,
    manager: Any,
    manager_api: Any,
    client: Any,
    in_storage: Path,
    settings: Any,
) -> None:
    import_put("shoot/a.png", png_bytes(30, 20, (9, 9, 9)))
    path_import(manager_api, dataset, "shoot")
    secret = Path(settings.MEDIA_ROOT) / private.images.get().file.name  # another dataset's image
    outside = Path(settings.MEDIA_ROOT).parent / "secret.png"
    outside.write_bytes(png_bytes(5, 5, (1, 2, 3)))
    for target in (secret, outside):
        shared = in_storage / "shoot" / "a.png"
        shared.unlink()
        shared.symlink_to(target)

        assert media(client, manager, "import/shoot/a.png").status_code == 404
        with pytest.raises(FileNotFoundError):
            default_storage.open("import/shoot/a.png")


def test_a_symlink_in_the_share_is_copied_rather_than_registered(
    dataset: Any, manager_api: Any, in_storage: Path
) -> None:
    import_put("shoot/real.png", png_bytes(30, 20, (9, 9, 9)))
    os.symlink(in_storage / "shoot" / "real.png", in_storage / "shoot" / "link.png")

    record = path_import(manager_api, dataset, "shoot")

    assert record.duplicates == 1  # the same bytes twice: one of the two is in
    image = dataset.images.get(path__in=["real.png", "link.png"])
    if image.path == "link.png":
        assert image.file.name.startswith(f"datasets/{dataset.pk}/")
    else:
        assert image.file.name == "import/shoot/real.png"


def test_a_root_outside_the_storage_is_copied_as_before(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    import_put("shoot/a.png", png_bytes(30, 20, (9, 9, 9)))  # the tests' root: beside the media folder

    path_import(manager_api, dataset, "shoot")

    image = dataset.images.get(path="a.png")
    assert image.file.name == f"datasets/{dataset.pk}/a.png"
    assert Path(settings.POLYLOG["IMPORT_ROOT"], "shoot", "a.png").is_file()


@pytest.mark.parametrize("below", ["", ".share."])  # the media folder itself; a folder with dots at its ends
def test_the_storage_name_is_the_files_path_below_the_media_folder(
    dataset: Any, manager_api: Any, in_storage: Path, settings: Any, below: str
) -> None:
    root = Path(settings.MEDIA_ROOT) / below
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_ROOT": str(root)}
    import_put("shoot/a.png", png_bytes(30, 20, (9, 9, 9)))

    path_import(manager_api, dataset, "shoot")

    name = dataset.images.get(path="a.png").file.name
    assert name == f"{below}/shoot/a.png".lstrip("/")
    assert default_storage.open(name).read() == png_bytes(30, 20, (9, 9, 9))


def test_a_file_opened_by_its_own_name_is_placed_from_its_opening_and_a_symlink_is_copied(
    dataset: Any, manager_api: Any, in_storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_put("shoot/real.png", png_bytes(30, 20, (9, 9, 9)))
    import_put("elsewhere/target.png", png_bytes(31, 21, (7, 7, 7)))
    os.symlink(in_storage / "elsewhere" / "target.png", in_storage / "shoot" / "link.png")
    in_place = imports._Folder.in_place
    asked: list[str] = []

    def noted_in_place(self: Any, relative: str) -> str | None:
        asked.append(relative)
        return in_place(self, relative)

    monkeypatch.setattr(imports._Folder, "in_place", noted_in_place)

    record = path_import(manager_api, dataset, "shoot")

    assert (record.added, record.failed) == (2, 0)
    assert dataset.images.get(path="real.png").file.name == "import/shoot/real.png"
    assert dataset.images.get(path="link.png").file.name.startswith(f"datasets/{dataset.pk}/")
    # The regular file was known regular, by its own name, from its opening (O_NOFOLLOW and fstat): no
    # lstat more for it. Only the symlink, read the long way, is asked about.
    assert asked == ["shoot/link.png"]
