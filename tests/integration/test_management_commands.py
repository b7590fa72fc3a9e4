"""rebuild_projections, verify_events and seed_demo, run as an operator runs them (call_command).

Tests write the StoredEvent and Snapshot tables directly to simulate tampering and corruption; nothing in the
application may.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image as PILImage

from apps.labeling.domain import state_from_dict
from apps.labeling.management.commands import seed_demo
from apps.labeling.models import Item, ItemLabel, ItemStatus, LabelingJob, Snapshot, StoredEvent
from tests.conftest import new_id, replay_log, square

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refused(name: str, *args: str) -> tuple[str, str]:
    """Run a command that must fail; return its output and the error message."""
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue(), str(error.value)


@pytest.fixture
def labeled(
    items: list[Any], labels: dict[str, Any], annotator_api: Any, send: Any, add_polygon: Any, settings: Any
) -> list[Any]:
    """Two items with shapes and saves, snapshots every 2 events; the third item untouched."""
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 2}
    first, second, _ = items
    add_polygon(annotator_api, first.pk, labels["cat"].pk)
    add_polygon(annotator_api, first.pk, labels["dog"].pk, points=square(30, 5, 10))
    send(annotator_api, first.pk, {"type": "save"})
    send(annotator_api, first.pk, {"type": "mark_hard_example"})
    add_polygon(annotator_api, second.pk, labels["cat"].pk)
    send(annotator_api, second.pk, {"type": "save"})
    for item in items:
        item.refresh_from_db()
    return items


# rebuild_projections -----------------------------------------------------------------------------


def test_rebuild_check_passes_when_the_projections_match_the_log(labeled: list[Any]) -> None:
    output = run("rebuild_projections", "--check")

    assert "3 items, 6 events replayed; 0 differences found" in output


def test_rebuild_finds_nothing_to_repair_after_a_varied_history(
    items: list[Any],
    labels: dict[str, Any],
    annotator_api: Any,
    annotator2: Any,
    client_for: Any,
    send: Any,
    settings: Any,
) -> None:
    """The read models the service keeps incrementally equal the ones rebuilt from the log."""
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 3}
    other = client_for(annotator2)
    item = items[2]  # 120x90
    a, b, c = new_id(), new_id(), new_id()
    steps = [
        (
            annotator_api,
            {
                "type": "add_polygon",
                "shape_id": a,
                "label_class_id": labels["cat"].pk,
                "points": square(5, 5, 20),
            },
        ),
        (other, {"type": "add_vertex", "shape_id": b, "x": 50, "y": 50}),
        (other, {"type": "add_vertex", "shape_id": b, "x": 70, "y": 50}),
        (other, {"type": "add_vertex", "shape_id": b, "x": 60, "y": 70}),
        (other, {"type": "close_polygon", "shape_id": b, "label_class_id": labels["dog"].pk}),
        (annotator_api, {"type": "save"}),
        (annotator_api, {"type": "mark_hard_example"}),
        (other, {"type": "move_shape", "shape_id": a, "dx": 10, "dy": 0}),
        (
            annotator_api,
            {
                "type": "add_polygon",
                "shape_id": c,
                "label_class_id": labels["dog"].pk,
                "points": square(80, 5, 20),
            },
        ),
        (annotator_api, {"type": "undo"}),
        (annotator_api, {"type": "redo"}),
        (other, {"type": "discard_changes"}),
        (other, {"type": "delete_all_shapes"}),
        (other, {"type": "save"}),
        (annotator_api, {"type": "undo"}),
    ]
    for client, command in steps:
        sent = send(client, item.pk, command)
        assert sent.status == 201, (command, sent.body)

    output = run("rebuild_projections", "--check")

    assert "0 differences found" in output
    assert "verified" in run("verify_events")


def test_rebuild_detects_and_repairs_a_corrupted_shape_count(labeled: list[Any]) -> None:
    first = labeled[0]
    Item.objects.filter(pk=first.pk).update(shape_count=99, status=ItemStatus.UNLABELED)

    output, error = refused("rebuild_projections", "--check")

    assert f"item {first.pk}: shape_count is 99, the log says 2" in output
    assert f"item {first.pk}: status is 'unlabeled'" in output
    assert "2 differences" in error
    assert Item.objects.get(pk=first.pk).shape_count == 99  # --check repairs nothing

    repaired = run("rebuild_projections", "--now")

    assert "2 differences repaired" in repaired
    first.refresh_from_db()
    assert (first.shape_count, first.status) == (2, ItemStatus.LABELED)
    assert "0 differences found" in run("rebuild_projections", "--check")


def test_rebuild_detects_and_repairs_a_deleted_label_row(labeled: list[Any], labels: dict[str, Any]) -> None:
    first = labeled[0]
    ItemLabel.objects.filter(item=first, label_class=labels["dog"]).delete()

    output, _ = refused("rebuild_projections", "--check")

    assert f"item {first.pk}: label counts are" in output
    run("rebuild_projections", "--now")
    counts = dict(ItemLabel.objects.filter(item=first).values_list("label_class_id", "shape_count"))
    assert counts == {labels["cat"].pk: 1, labels["dog"].pk: 1}
    run("rebuild_projections", "--check")


def test_rebuild_detects_and_repairs_a_tampered_snapshot(labeled: list[Any]) -> None:
    first = labeled[0]
    snapshot = Snapshot.objects.get(item=first, seq=2)
    tampered = {**snapshot.state, "hard_example": True, "shapes": []}
    Snapshot.objects.filter(pk=snapshot.pk).update(state=tampered)

    output, _ = refused("rebuild_projections", "--check")

    assert f"item {first.pk}: snapshot at seq 2 differs from the replay" in output
    run("rebuild_projections", "--now")
    snapshot.refresh_from_db()
    assert state_from_dict(snapshot.state) == replay_log(first, 2)
    run("rebuild_projections", "--check")


def test_rebuild_recreates_a_missing_snapshot_and_drops_one_past_the_end(labeled: list[Any]) -> None:
    first, second, _ = labeled
    Snapshot.objects.filter(item=first, seq=4).delete()
    Snapshot.objects.create(item=second, seq=8, state=Snapshot.objects.get(item=second, seq=2).state)

    output, _ = refused("rebuild_projections", "--check")

    assert f"item {first.pk}: snapshot at seq 4 is missing" in output
    assert f"item {second.pk}: snapshot at seq 8 is past the stream's end" in output
    run("rebuild_projections", "--now")
    # Every 2 events, and the save at 3 (store.snapshot_due).
    assert list(Snapshot.objects.filter(item=first).values_list("seq", flat=True)) == [2, 3, 4]
    assert list(Snapshot.objects.filter(item=second).values_list("seq", flat=True)) == [2]
    assert state_from_dict(Snapshot.objects.get(item=first, seq=4).state) == replay_log(first, 4)


def test_rebuild_can_be_limited_to_one_item(labeled: list[Any]) -> None:
    first, second, _ = labeled
    Item.objects.filter(pk__in=[first.pk, second.pk]).update(shape_count=99)

    run("rebuild_projections", "--now", "--item", str(first.pk))

    assert Item.objects.get(pk=first.pk).shape_count == 2
    assert Item.objects.get(pk=second.pk).shape_count == 99


def test_after_a_repair_commands_continue_from_the_log(
    labeled: list[Any], labels: dict[str, Any], annotator_api: Any, add_polygon: Any
) -> None:
    first = labeled[0]
    Item.objects.filter(pk=first.pk).update(shape_count=99, label_class_ids=[])
    run("rebuild_projections", "--now")

    add_polygon(annotator_api, first.pk, labels["cat"].pk, points=square(40, 30, 5))

    first.refresh_from_db()
    assert (first.shape_count, first.last_seq) == (3, 5)
    assert "0 differences found" in run("rebuild_projections", "--check")


# verify_events -----------------------------------------------------------------------------------


def test_verify_passes_on_an_untouched_log(labeled: list[Any]) -> None:
    output = run("verify_events")

    streams = StoredEvent.objects.values("item_id").distinct().count()
    assert streams >= 2
    assert f"{streams} streams verified, every hash chain intact" in output


def test_verify_detects_an_altered_payload_and_names_its_seq(labeled: list[Any]) -> None:
    first = labeled[0]
    row = StoredEvent.objects.get(item=first, seq=2)
    StoredEvent.objects.filter(pk=row.pk).update(payload={**row.payload, "points": square(0, 0, 50)})

    output, error = refused("verify_events")

    assert f"item {first.pk} seq 2: hash mismatch" in output
    assert f"item {first.pk} seq 1" not in output
    assert "1 problems" in error


@pytest.mark.parametrize(
    "change",
    [{"actor_id": "OTHER"}, {"type": "polygon_closed"}, {"command_id": "forged"}, {"seq": 9}],
)
def test_verify_detects_any_altered_column(
    labeled: list[Any], annotator2: Any, change: dict[str, Any]
) -> None:
    second = labeled[1]
    change = {k: annotator2.pk if v == "OTHER" else v for k, v in change.items()}
    StoredEvent.objects.filter(item=second, seq=1).update(**change)

    output, _ = refused("verify_events", "--item", str(second.pk))

    assert f"item {second.pk} seq" in output


def test_verify_detects_a_deleted_event(labeled: list[Any]) -> None:
    first = labeled[0]
    StoredEvent.objects.filter(item=first, seq=2).delete()

    output, _ = refused("verify_events", "--job", str(first.job_id))

    assert f"item {first.pk} seq 3: gap: expected seq 2" in output


def test_verify_can_be_limited_to_one_item(labeled: list[Any]) -> None:
    first, second, _ = labeled
    StoredEvent.objects.filter(item=first, seq=1).update(payload={})

    output = run("verify_events", "--item", str(second.pk))

    assert "1 streams verified" in output


# seed_demo ---------------------------------------------------------------------------------------


def photo_folder(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for n in range(count):
        picture = PILImage.new("RGB", (64 + n, 48), (n * 40, 100, 150))
        picture.save(folder / f"photo_{n}.jpg", format="JPEG")
    (folder / "notes.txt").write_text("not a photo")
    return folder


def demo_job() -> Any:
    return LabelingJob.objects.get(name=seed_demo.DEMO_JOB)


def test_seed_demo_creates_the_demo_user_and_job_from_a_folder_of_photos(tmp_path: Path) -> None:
    output = run("seed_demo", "--photos", str(photo_folder(tmp_path, 2)))

    job = demo_job()
    user = get_user_model().objects.get(username=seed_demo.DEMO_USERNAME)
    assert user.check_password(seed_demo.DEMO_PASSWORD)
    assert job.memberships.get(user=user).role == "manager"
    assert sorted(job.items.values_list("image__name", flat=True)) == ["photo_0.jpg", "photo_1.jpg"]
    assert sorted(job.label_classes.values_list("name", flat=True)) == sorted(
        n for n, _ in seed_demo.LABEL_CLASSES
    )
    assert f"demo job {job.pk} (2 images)" in output


def test_seed_demo_is_idempotent(tmp_path: Path) -> None:
    folder = photo_folder(tmp_path, 2)
    first = run("seed_demo", "--photos", str(folder))

    second = run("seed_demo", "--photos", str(folder))

    assert first == second
    assert LabelingJob.objects.filter(name=seed_demo.DEMO_JOB).count() == 1
    assert get_user_model().objects.filter(username=seed_demo.DEMO_USERNAME).count() == 1
    assert demo_job().items.count() == 2
    assert demo_job().dataset.images.count() == 2


def test_seed_demo_makes_photos_up_when_the_folder_has_none(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    run("seed_demo", "--photos", str(empty))

    assert demo_job().items.count() == len(seed_demo.generated_photos())


def test_seed_demo_uses_the_shared_photos_by_default() -> None:
    shared = (
        sorted(p.name for p in seed_demo.SHARED_PHOTOS.glob("*.jpg"))
        if seed_demo.SHARED_PHOTOS.is_dir()
        else []
    )
    expected = shared or [name for name, _ in seed_demo.generated_photos()]

    run("seed_demo")
    run("seed_demo")

    assert sorted(demo_job().items.values_list("image__name", flat=True)) == sorted(expected)


def test_the_demo_user_can_label_right_away(tmp_path: Path, send: Any) -> None:
    from rest_framework.test import APIClient

    run("seed_demo", "--photos", str(photo_folder(tmp_path, 1)))
    token = APIClient().post(
        "/api/auth/token/",
        {"username": seed_demo.DEMO_USERNAME, "password": seed_demo.DEMO_PASSWORD},
        format="json",
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    job = demo_job()
    item = job.items.get()

    sent = send(
        client,
        item.pk,
        {
            "type": "add_polygon",
            "shape_id": new_id(),
            "label_class_id": job.label_classes.first().pk,
            "points": square(5, 5, 10),
        },
    )

    assert sent.status == 201


def test_verify_passes_for_an_event_with_a_negative_zero_coordinate(item: Any, annotator_api: Any) -> None:
    """PostgreSQL's jsonb turns -0.0 into 0.0; the hash must be over what is stored."""
    raw = f'{{"command_id": "{new_id()}", "command": {{"type": "add_vertex", "shape_id": "{new_id()}", "x": -0.0, "y": 5}}}}'
    response = annotator_api.post(f"/api/items/{item.pk}/commands/", raw, content_type="application/json")
    assert response.status_code == 201

    output = run("verify_events", "--item", str(item.pk))

    assert "every hash chain intact" in output


def test_seed_bench_builds_a_job_whose_read_models_agree_with_its_log() -> None:
    out = io.StringIO()

    call_command("seed_bench", items=50, events=500, stdout=out)

    job = LabelingJob.objects.get(pk=int(out.getvalue().split()[-1]))
    assert job.items.count() == 50
    assert StoredEvent.objects.filter(item__job=job).count() >= 500
    assert (
        job.items.filter(status=ItemStatus.LABELED).exists() and job.items.filter(hard_example=True).exists()
    )
    call_command("rebuild_projections", "--check", stdout=io.StringIO())  # raises on any difference
    call_command("verify_events", stdout=io.StringIO())
