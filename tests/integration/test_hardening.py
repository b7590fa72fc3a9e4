"""Defects a code review found, each pinned by a test: retries, broadcasts, permissions, bounds, integrity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.datasets.models import Dataset
from apps.labeling import live
from apps.labeling.models import Item, StoredEvent
from apps.labeling.store import iso
from tests.conftest import new_id

pytestmark = pytest.mark.django_db


def test_a_retried_command_whose_second_run_would_change_nothing_gets_the_original_answer(
    item: Any, annotator_api: Any, send: Any
) -> None:
    first = send(annotator_api, item.pk, {"type": "mark_hard_example"}, command_id="mark-1")
    again = send(annotator_api, item.pk, {"type": "mark_hard_example"}, command_id="mark-1")

    assert first.status == 201 and first.body["events"]
    assert again.status == 200
    assert again.body == first.body


def test_a_command_id_used_by_someone_else_is_refused_and_their_command_is_not_replayed_as_ours(
    item: Any, annotator_api: Any, client_for: Any, annotator2: Any, send: Any
) -> None:
    send(annotator_api, item.pk, {"type": "mark_hard_example"}, command_id="shared-id")

    other = send(client_for(annotator2), item.pk, {"type": "unmark_hard_example"}, command_id="shared-id")

    assert other.status == 422
    assert other.body["code"] == "command_id_reused"
    assert StoredEvent.objects.filter(item=item).count() == 1


def test_a_broadcast_that_fails_after_commit_does_not_turn_the_command_into_an_error(
    item: Any,
    labels: Any,
    annotator_api: Any,
    add_polygon: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class DownLayer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            raise ConnectionError("the channel layer is down")

    monkeypatch.setattr(live, "get_channel_layer", DownLayer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sent = add_polygon(annotator_api, item.pk, labels["cat"].pk)

    assert callbacks  # the broadcast was attempted after commit, and failed
    assert sent.status == 201
    assert Item.objects.get(pk=item.pk).last_seq == 1


def test_a_job_creator_cannot_open_a_dataset_they_have_no_part_in(
    make_user: Any, client_for: Any, dataset: Any
) -> None:
    creator = make_user("creator")
    creator.user_permissions.add(Permission.objects.get(codename="add_labelingjob"))
    own = Dataset.objects.create(name="mine", created_by=creator)
    api = client_for(creator)

    refused = api.post("/api/jobs/", {"name": "peek", "dataset": dataset.pk}, format="json")
    allowed = api.post("/api/jobs/", {"name": "fine", "dataset": own.pk}, format="json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_request"
    assert allowed.status_code == 201


@pytest.mark.parametrize(
    "query", ["label_class=99999999999999999999999", "labeled_by=99999999999999999999999", "label_class=0"]
)
def test_an_out_of_range_id_in_a_filter_is_a_400_not_a_500(job: Any, manager_api: Any, query: str) -> None:
    response = manager_api.get(f"/api/jobs/{job.pk}/items/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_timestamps_in_the_hash_chain_always_carry_microseconds() -> None:
    assert iso(datetime(2026, 11, 27, 5, 42, 0, 0, tzinfo=UTC)) == "2026-11-27T05:42:00.000000Z"


def test_verify_events_notices_events_missing_at_the_end_of_a_stream(
    item: Any, labels: Any, annotator_api: Any, add_polygon: Any
) -> None:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    add_polygon(annotator_api, item.pk, labels["dog"].pk)
    StoredEvent.objects.filter(item=item, seq=2).delete()  # tampering: the test writes the table directly

    with pytest.raises(CommandError):
        call_command("verify_events")


def test_the_admin_offers_no_way_to_delete_a_label_class(admin_client: Any, labels: Any) -> None:
    response = admin_client.get(f"/admin/labeling/labelclass/{labels['cat'].pk}/delete/")

    assert response.status_code == 403


def test_a_new_draft_is_not_counted_against_the_image_shape_limit(
    item: Any, labels: Any, annotator_api: Any, annotator2: Any, client_for: Any, send: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_DRAFTS": 1}
    first = send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": new_id(), "x": 1, "y": 1})
    second = send(annotator_api, item.pk, {"type": "add_vertex", "shape_id": new_id(), "x": 2, "y": 2})
    someone_else = send(
        client_for(annotator2), item.pk, {"type": "add_vertex", "shape_id": new_id(), "x": 3, "y": 3}
    )

    assert first.status == 201
    assert (second.status, second.body["code"]) == (422, "too_many_drafts")
    assert someone_else.status == 201


def test_the_admin_cannot_remove_a_jobs_last_manager(admin_client: Any, job: Any, manager: Any) -> None:
    from apps.labeling.models import JobMember

    membership = JobMember.objects.get(job=job, user=manager)

    response = admin_client.post(f"/admin/labeling/jobmember/{membership.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert JobMember.objects.filter(pk=membership.pk).exists()
