"""Shape numbers (#n) on the wire and in stored snapshots: the state view carries them, and the migration
that brought them rewrites snapshots written before them from the log."""

from __future__ import annotations

import importlib
from typing import Any

from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.labeling.domain import state_to_dict
from apps.labeling.models import Snapshot
from tests.conftest import new_id, replay_log, square

MIGRATION_NAME = "0005_snapshots_with_shape_numbers"
MIGRATION = importlib.import_module(f"apps.labeling.migrations.{MIGRATION_NAME}")


def as_format_1(raw: dict[str, Any]) -> dict[str, Any]:
    """A format 2 snapshot as the code before numbers wrote it: no number in a shape row, no next_number."""
    old = {key: value for key, value in raw.items() if key != "next_number"}
    old["format"] = 1
    old["table"] = [[row[0], row[1], *row[3:]] for row in raw["table"]]
    return old


def test_the_state_view_numbers_shapes_by_creation_and_keeps_the_numbers_of_the_rest(
    annotator_api: Any, item: Any, labels: dict[str, Any], send: Any, add_polygon: Any
) -> None:
    first, second, third = (
        add_polygon(annotator_api, item.pk, labels["cat"].pk, points=square(10 + 30 * n, 10, 20)).body
        for n in range(3)
    )
    send(
        annotator_api,
        item.pk,
        {"type": "delete_shape", "shape_id": first["events"][0]["payload"]["shape_id"]},
    )
    send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": new_id(), "x": 5.0, "y": 5.0})

    view = annotator_api.get(f"/api/items/{item.pk}/state/").json()

    assert [(s["id"], s["number"]) for s in view["shapes"]] == [
        (second["events"][0]["payload"]["shape_id"], 2),
        (third["events"][0]["payload"]["shape_id"], 3),
    ]
    assert [d["number"] for d in view["drafts"]] == [4]
    assert view["next_number"] == 5


def test_the_migration_rewrites_old_snapshots_with_the_numbers_a_replay_gives(
    settings: Any, annotator_api: Any, item: Any, labels: dict[str, Any], send: Any, add_polygon: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 2}
    draft = new_id()
    send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": draft, "x": 5.0, "y": 5.0})
    send(annotator_api, item.pk, {"type": "discard_draft", "shape_id": draft})  # #1 is used up
    for n in range(3):
        add_polygon(annotator_api, item.pk, labels["cat"].pk, points=square(10 + 30 * n, 10, 20))
    snapshots = list(Snapshot.objects.filter(item=item).order_by("seq"))
    assert [s.seq for s in snapshots] == [2, 4]
    for snapshot in snapshots:
        Snapshot.objects.filter(pk=snapshot.pk).update(state=as_format_1(snapshot.state))

    # The models as that migration saw them (the event model was still called Event then).
    models_then = MigrationLoader(connection).project_state(("labeling", MIGRATION_NAME)).apps
    MIGRATION.snapshots_rewrite(models_then, None)

    for snapshot in Snapshot.objects.filter(item=item).order_by("seq"):
        expected = replay_log(item, snapshot.seq)
        assert snapshot.state == state_to_dict(expected)
    assert sorted(s.number for s in replay_log(item, 4).shapes.values()) == [2, 3]
