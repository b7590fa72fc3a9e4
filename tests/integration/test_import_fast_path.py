"""The import's fast steps (issue 21 point 2) keep what the slower ones guaranteed: a file read by its path is
still checked where the kernel opened it, a copy never replaces a file already in storage and takes the
storage's permissions, rows written in one statement come out as the ORM would write them; on the embedded
pool the thumbnail runs wait for the import's end, whichever it is."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from apps.datasets import imports
from apps.datasets.imports import THUMBNAILS_TASK, OutsideRoot, dataset_import_start, import_wait
from apps.datasets.models import DataImport, Image
from apps.labeling import readmodels
from apps.labeling.models import Item
from apps.labeling.services import job_create
from apps.tasks import backends
from apps.tasks.models import TaskRun
from tests.conftest import import_put, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def path_import(dataset: Any, actor: Any, folder: str) -> DataImport:
    record = dataset_import_start(dataset=dataset, actor=actor, path=folder)
    record = import_wait(record.pk, timeout=60)
    assert record.status == DataImport.Status.DONE, record.errors
    return record


def test_a_folder_swapped_for_a_symlink_out_of_the_root_after_the_listing_is_not_read_through(
    settings: Any, tmp_path: Path
) -> None:
    import_put("swapped/inner/a.png", png_bytes(10, 10, (1, 2, 3)))
    outside = tmp_path / "elsewhere" / "inner"
    outside.mkdir(parents=True)
    (outside / "a.png").write_bytes(png_bytes(11, 11, (9, 9, 9)))
    root = imports.import_root()
    listed = dict(root.files("swapped"))  # the listing saw a regular file in a real folder

    folder = Path(settings.POLYLOG["IMPORT_ROOT"]) / "swapped" / "inner"
    os.rename(folder, folder.with_name("gone"))
    folder.symlink_to(outside, target_is_directory=True)

    with pytest.raises(OutsideRoot):
        listed["inner/a.png"]()


def test_a_file_swapped_for_a_symlink_after_the_listing_is_followed_only_inside_the_root(
    settings: Any, tmp_path: Path
) -> None:
    import_put("swapped/inside.png", png_bytes(10, 10, (1, 2, 3)))
    import_put("swapped/outside.png", png_bytes(10, 10, (1, 2, 4)))
    import_put("swapped/target.png", png_bytes(12, 12, (5, 5, 5)))
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(13, 13, (6, 6, 6)))
    folder = Path(settings.POLYLOG["IMPORT_ROOT"]) / "swapped"
    listed = dict(imports.import_root().files("swapped"))

    for name, target in (("inside.png", folder / "target.png"), ("outside.png", secret)):
        (folder / name).unlink()
        (folder / name).symlink_to(target)

    assert listed["inside.png"]() == (folder / "target.png").read_bytes()
    with pytest.raises(OutsideRoot):
        listed["outside.png"]()


def test_a_copy_never_replaces_a_file_already_at_its_storage_name(dataset: Any, manager: Any) -> None:
    source = png_bytes(14, 14, (7, 1, 1))
    import_put("fresh/a.png", source)
    # A copy a killed run left behind, unreferenced, where the new copy would go.
    leftover = default_storage.save(f"datasets/{dataset.pk}/a.png", imports.ContentFile(b"left behind"))
    assert leftover == f"datasets/{dataset.pk}/a.png"

    path_import(dataset, manager, "fresh")

    image = dataset.images.get(path="a.png")
    assert image.file.name != leftover
    with default_storage.open(image.file.name, "rb") as handle:
        assert handle.read() == source
    with default_storage.open(leftover, "rb") as handle:
        assert handle.read() == b"left behind"


def test_a_copy_takes_the_storages_file_and_folder_permissions(
    dataset: Any, manager: Any, settings: Any
) -> None:
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
    imports._FOLDERS_MADE.clear()
    import_put("modes/deep/b.png", png_bytes(15, 15, (7, 2, 2)))

    path_import(dataset, manager, "modes")

    stored = Path(default_storage.path(dataset.images.get(path="deep/b.png").file.name))
    assert stat.S_IMODE(stored.stat().st_mode) == 0o640
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o750


def test_a_batch_larger_than_one_statement_inserts_every_row_with_its_own_values(
    dataset: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "_INSERT_ROWS", 2)  # five files, one batch, three statements
    colours = [(n, 3, 3) for n in range(5)]
    for n, colour in enumerate(colours):
        import_put(f"many/{n}.png", png_bytes(10 + n, 20 + n, colour))

    record = path_import(dataset, manager, "many")

    assert record.added == 5
    rows = {i.path: (i.width, i.height, i.name, i.thumbnail != "") for i in dataset.images.all()}
    assert {f"{n}.png": (10 + n, 20 + n, f"{n}.png", True) for n in range(5)}.items() <= rows.items()
    image = Image.objects.get(dataset=dataset, path="3.png")
    assert image.created_at is not None
    with default_storage.open(image.file.name, "rb") as handle:
        assert image.checksum == imports.hashlib.sha256(handle.read()).hexdigest()


def test_the_items_a_sync_inserts_hold_the_models_defaults(dataset: Any, manager: Any) -> None:
    import_put("sync/c.png", png_bytes(16, 16, (7, 3, 3)))
    path_import(dataset, manager, "sync")

    job = job_create(name="fresh job", dataset=dataset, created_by=manager, label_classes=[])

    item = Item.objects.get(job=job, image__path="c.png")
    blank = Item(job=job, image=item.image)
    for field in Item._meta.concrete_fields:
        if field.name not in ("id", "created_at"):
            assert getattr(item, field.attname) == getattr(blank, field.attname), field.name
    assert item.created_at is not None
    assert Item.objects.filter(job=job).count() == dataset.images.count()


def test_on_the_embedded_pool_thumbnail_runs_are_handed_over_after_the_last_batch(
    dataset: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 1, "THUMBNAIL_BATCH": 1}
    for n in range(3):
        import_put(f"held/{n}.png", png_bytes(10 + n, 10, (n, 4, 4)))
    handed: list[tuple[str, int]] = []
    submit = backends.submit

    def recording_submit(run_id: int, kind: str) -> None:
        run = TaskRun.objects.get(pk=run_id)
        if run.kind == THUMBNAILS_TASK:
            processed = DataImport.objects.values_list("processed", flat=True).get(pk=run.args["import_id"])
            handed.append((run.kind, processed))
        submit(run_id, kind)

    monkeypatch.setattr(backends, "submit", recording_submit)

    record = path_import(dataset, manager, "held")

    assert record.added == 3
    assert handed == [(THUMBNAILS_TASK, 3)] * 3  # none while a batch was still to come
    assert not dataset.images.filter(path__in=["0.png", "1.png", "2.png"], thumbnail="").exists()


def test_an_import_that_stops_still_hands_over_the_thumbnails_of_its_committed_batches(
    dataset: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 1}
    for n in range(2):
        import_put(f"cut/{n}.png", png_bytes(10 + n, 10, (n, 5, 5)))
    register = imports._register_batch

    def register_then_fail(record: Any, run: Any, batch: Any, results: Any) -> None:
        if batch[0][0] == 1:
            raise RuntimeError("the disk went away")
        register(record, run, batch, results)

    monkeypatch.setattr(imports, "_register_batch", register_then_fail)

    record = dataset_import_start(dataset=dataset, actor=manager, path="cut")
    record = import_wait(record.pk, timeout=60)

    assert record.status == DataImport.Status.FAILED
    first = dataset.images.get(path="0.png")
    assert first.thumbnail != ""
    assert not TaskRun.objects.filter(parent_id=record.task_run_id, status=TaskRun.Status.QUEUED).exists()


def test_a_file_grown_since_its_size_was_taken_is_read_whole_up_to_the_limit(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = png_bytes(30, 30, (8, 1, 1))
    import_put("grown/a.png", content)
    listed = dict(imports.import_root().files("grown"))
    real_fstat = os.fstat

    def fstat_of_a_smaller_file(descriptor: int) -> os.stat_result:
        found = real_fstat(descriptor)
        fields = list(found)
        fields[stat.ST_SIZE] = 10  # the size when it was measured; the file grew since
        return os.stat_result(fields)

    monkeypatch.setattr(imports.os, "fstat", fstat_of_a_smaller_file)
    assert listed["a.png"]() == content

    settings.POLYLOG = {**settings.POLYLOG, "MAX_IMPORT_FILE_BYTES": 20}
    with pytest.raises(imports.FileTooLarge):
        listed["a.png"]()


def test_a_path_taken_by_another_import_between_the_check_and_the_insert_is_refused_alone(
    dataset: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        import_put(f"race/{n}.png", png_bytes(10 + n, 12, (n, 9, 9)))
    tally = imports._Tally
    taken: list[str] = []

    def another_import_commits_first() -> Any:
        # Called after the batch looked for the paths it has, before its transaction: the other import
        # commits 1.png in between.
        if not taken:
            Image.objects.create(
                dataset=dataset, file="elsewhere.png", name="1.png", path="1.png", width=1, height=1
            )
            taken.append("1.png")
        return tally()

    monkeypatch.setattr(imports, "_Tally", another_import_commits_first)

    record = path_import(dataset, manager, "race")

    assert (record.added, record.failed) == (2, 1)
    assert record.errors == [{"file": "1.png", "reason": "another file already has this path in the dataset"}]
    assert set(dataset.images.filter(path__in=["0.png", "2.png"]).values_list("path", flat=True)) == {
        "0.png",
        "2.png",
    }
    stored = {name for name in default_storage.listdir(f"datasets/{dataset.pk}")[1] if name.startswith("1")}
    assert stored == set()  # the refused file's copy was deleted


def test_a_copy_is_never_written_through_a_symlink_planted_at_its_storage_name(
    dataset: Any, manager: Any, tmp_path: Path
) -> None:
    import_put("planted/a.png", png_bytes(14, 14, (7, 7, 1)))
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    trap = Path(default_storage.path(f"datasets/{dataset.pk}/a.png"))
    trap.parent.mkdir(parents=True, exist_ok=True)
    trap.symlink_to(victim)
    (trap.parent / "b.png").symlink_to(tmp_path / "nowhere.png")  # dangling: taken all the same
    import_put("planted/b.png", png_bytes(15, 14, (7, 7, 2)))

    path_import(dataset, manager, "planted")

    assert victim.read_bytes() == b"keep me"
    assert not (tmp_path / "nowhere.png").exists()
    for path in ("a.png", "b.png"):
        stored = Path(default_storage.path(dataset.images.get(path=path).file.name))
        assert not stored.is_symlink() and stored.stat().st_size > 0


def test_files_already_in_the_dataset_are_found_past_one_statements_values(
    dataset: Any, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "_INSERT_ROWS", 2)  # five files: three statements a question
    files = {f"{n}.png": png_bytes(10 + n, 11, (n, 6, 6)) for n in range(5)}
    for name, content in files.items():
        import_put(f"first/{name}", content)
        import_put(f"again/{name}", content)  # the same bytes under the same paths
    import_put("again/5.png", png_bytes(9, 9, (9, 6, 6)))
    path_import(dataset, manager, "first")

    record = path_import(dataset, manager, "again")

    assert (record.added, record.duplicates, record.failed) == (1, 5, 0)


def test_each_batch_commits_its_images_with_their_items_in_every_job_over_the_dataset(
    dataset: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 2}
    jobs = [
        job_create(name=f"job {n}", dataset=dataset, created_by=manager, label_classes=[]) for n in (1, 2)
    ]
    for n in range(5):
        import_put(f"paired/{n}.png", png_bytes(10 + n, 10, (n, 6, 6)))
    register = imports._register_batch
    before = dataset.images.count()  # the fixture's own images, which the jobs have items for
    after_each: list[tuple[int, list[bool], list[int]]] = []

    def register_and_look(record: Any, run: Any, batch: Any, results: Any) -> None:
        register(record, run, batch, results)
        images = set(dataset.images.values_list("pk", flat=True))
        items = [set(Item.objects.filter(job=job).values_list("image_id", flat=True)) for job in jobs]
        tallies = [readmodels.job_tally_read(job.pk).get(readmodels.ITEMS, 0) for job in jobs]
        after_each.append((len(images) - before, [images <= i for i in items], tallies))

    monkeypatch.setattr(imports, "_register_batch", register_and_look)

    record = path_import(dataset, manager, "paired")

    assert record.added == 5
    # After each batch's commit, before the import's end: every job has an item for each image so far.
    counts = [before + n for n in (2, 4, 5)]
    assert after_each == [(n - before, [True, True], [n, n]) for n in counts]
    for job in jobs:
        assert Item.objects.filter(job=job).count() == before + 5  # the sync at the end added none twice
        assert readmodels.job_tally_read(job.pk)[readmodels.ITEMS] == before + 5


def test_a_job_created_during_an_import_gets_the_items_of_the_batches_before_and_after(
    dataset: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_BATCH": 2}
    for n in range(4):
        import_put(f"midway/{n}.png", png_bytes(10 + n, 11, (n, 7, 7)))
    register = imports._register_batch
    created: list[Any] = []

    def register_then_create_a_job(record: Any, run: Any, batch: Any, results: Any) -> None:
        register(record, run, batch, results)
        if not created:
            created.append(job_create(name="midway", dataset=dataset, created_by=manager, label_classes=[]))

    monkeypatch.setattr(imports, "_register_batch", register_then_create_a_job)

    path_import(dataset, manager, "midway")

    items = Item.objects.filter(job=created[0])
    assert {f"{n}.png" for n in range(4)} <= set(items.values_list("image__path", flat=True))
    assert sorted(items.values_list("image_id", flat=True)) == sorted(
        dataset.images.values_list("pk", flat=True)
    )
    assert readmodels.job_tally_read(created[0].pk)[readmodels.ITEMS] == dataset.images.count()


def test_the_files_of_import_after_import_are_read_by_the_same_few_threads(
    dataset: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = [f"round{n}" for n in range(settings.POLYLOG["TASK_THREADS"] + 1)]
    for folder in folders:
        for n in range(2):
            import_put(f"{folder}/{n}.png", png_bytes(10 + n, 13, (n, 8, len(folder))))
    store = imports._store
    readers: list[threading.Thread] = []

    def store_and_note_the_thread(*args: Any) -> Any:
        readers.append(threading.current_thread())
        return store(*args)

    monkeypatch.setattr(imports, "_store", store_and_note_the_thread)

    for folder in folders:
        path_import(dataset, manager, folder)

    # Kept for the process, not made again per import (a thread's start waited for it to be scheduled):
    # more imports than the pool has threads, and no more threads than it has.
    distinct = {id(thread): thread for thread in readers}
    assert len(readers) == 2 * len(folders)
    assert len(distinct) <= settings.POLYLOG["TASK_THREADS"]


def test_an_images_checksum_is_indexed_only_within_its_dataset() -> None:
    # An import's "already in the dataset?" reads (dataset, checksum); an index of the checksum alone (on
    # PostgreSQL two: its _like twin) answered nothing and cost half of the image INSERT.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Image._meta.db_table)
    indexed = sorted(c["columns"] for c in constraints.values() if c["index"] and "checksum" in c["columns"])
    assert indexed == [["dataset_id", "checksum"]]
