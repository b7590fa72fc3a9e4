"""Django admin: the management pages load for a superuser; the event log is shown read-only."""

from __future__ import annotations

from typing import Any

import pytest

from apps.labeling.models import Event, JobMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any) -> Any:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    return Event.objects.get(item=item)


def pages(job: Any, item: Any, labels: dict[str, Any], manager: Any) -> list[str]:
    dataset, image = job.dataset, item.image
    member = JobMember.objects.get(job=job, user=manager)
    return [
        "/admin/",
        "/admin/datasets/dataset/",
        f"/admin/datasets/dataset/{dataset.pk}/change/",
        "/admin/datasets/dataset/add/",
        "/admin/datasets/image/",
        f"/admin/datasets/image/{image.pk}/change/",
        "/admin/labeling/labelingjob/",
        f"/admin/labeling/labelingjob/{job.pk}/change/",
        "/admin/labeling/labelingjob/add/",
        "/admin/labeling/labelclass/",
        f"/admin/labeling/labelclass/{labels['cat'].pk}/change/",
        "/admin/labeling/jobmember/",
        f"/admin/labeling/jobmember/{member.pk}/change/",
        "/admin/labeling/item/",
        f"/admin/labeling/item/{item.pk}/change/",
        "/admin/labeling/item/?status__exact=unlabeled",
        "/admin/labeling/event/",
        "/admin/labeling/event/?type=polygon_added",
        "/admin/labeling/snapshot/",
    ]


def test_the_management_pages_load_for_a_superuser(
    admin_client: Any, job: Any, item: Any, labels: dict[str, Any], manager: Any, event: Any
) -> None:
    for url in pages(job, item, labels, manager):
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_the_job_page_lists_its_label_classes_and_members(
    admin_client: Any, job: Any, labels: dict[str, Any], manager: Any
) -> None:
    page = admin_client.get(f"/admin/labeling/labelingjob/{job.pk}/change/").content.decode()

    assert "#ff0000" in page
    assert manager.username in page


def test_the_event_list_shows_the_event(admin_client: Any, event: Any) -> None:
    page = admin_client.get("/admin/labeling/event/").content.decode()

    assert "polygon_added" in page


def test_the_event_log_has_no_add_page(admin_client: Any, event: Any) -> None:
    assert admin_client.get("/admin/labeling/event/add/").status_code == 403
    assert admin_client.post("/admin/labeling/event/add/", {"seq": 2, "type": "saved"}).status_code == 403
    assert Event.objects.count() == 1


def test_the_event_page_is_read_only(admin_client: Any, event: Any) -> None:
    response = admin_client.get(f"/admin/labeling/event/{event.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert "polygon_added" in page


def test_posting_to_an_event_page_changes_nothing(admin_client: Any, event: Any) -> None:
    response = admin_client.post(
        f"/admin/labeling/event/{event.pk}/change/",
        {"type": "saved", "seq": 7, "payload": "{}", "hash": "0" * 64, "_save": "Save"},
    )

    assert response.status_code == 403
    fresh = Event.objects.get(pk=event.pk)
    assert (fresh.type, fresh.seq, fresh.payload, fresh.hash) == (
        event.type,
        event.seq,
        event.payload,
        event.hash,
    )


def test_an_event_cannot_be_deleted(admin_client: Any, event: Any) -> None:
    assert admin_client.get(f"/admin/labeling/event/{event.pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/labeling/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


def test_the_event_list_offers_no_bulk_delete(admin_client: Any, event: Any) -> None:
    response = admin_client.post(
        "/admin/labeling/event/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert response.status_code in (200, 302, 403)
    assert Event.objects.filter(pk=event.pk).exists()
    assert "delete_selected" not in admin_client.get("/admin/labeling/event/").content.decode()


def test_snapshots_are_read_only_too(
    admin_client: Any, item: Any, settings: Any, annotator_api: Any, send: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 1}
    send(annotator_api, item.pk, {"type": "mark_hard_example"})
    snapshot = item.snapshots.get()

    assert admin_client.get("/admin/labeling/snapshot/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/labeling/snapshot/{snapshot.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert item.snapshots.count() == 1


def test_a_non_staff_user_is_sent_to_the_admin_login(client: Any, annotator: Any) -> None:
    client.force_login(annotator)

    response = client.get("/admin/labeling/event/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def listed(admin_client: Any, query: str) -> set[tuple[int, int]]:
    """The (item id, seq) of the events the admin's event list shows for `query`."""
    response = admin_client.get(f"/admin/labeling/event/?{query}")
    assert response.status_code == 200, query
    return {(e.item_id, e.seq) for e in response.context["cl"].queryset}


def test_the_event_log_filters_by_job_item_actor_type_and_date(
    admin_client: Any,
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    annotator_api: Any,
    annotator2: Any,
    manager: Any,
    client_for: Any,
    add_polygon: Any,
    send: Any,
) -> None:
    from apps.labeling.services import job_create

    first, second = items[0], items[1]
    add_polygon(annotator_api, first.pk, labels["cat"].pk, points=[[5, 5], [15, 5], [15, 15]])
    add_polygon(client_for(annotator2), second.pk, labels["dog"].pk)
    send(annotator_api, second.pk, {"type": "save"})
    other = job_create(
        name="Other",
        dataset=job.dataset,
        created_by=manager,
        label_classes=[{"name": "x", "color": "#123456"}],
    )
    other_item = other.items.order_by("id").first()
    add_polygon(client_for(manager), other_item.pk, other.label_classes.get().pk)
    everything = listed(admin_client, "")
    day = Event.objects.get(item=first).created_at

    assert everything == {(first.pk, 1), (second.pk, 1), (second.pk, 2), (other_item.pk, 1)}
    assert listed(admin_client, f"item__job__id__exact={job.pk}") == everything - {(other_item.pk, 1)}
    assert listed(admin_client, f"item={second.pk}") == {(second.pk, 1), (second.pk, 2)}
    assert listed(admin_client, f"item__job__id__exact={job.pk}&item={first.pk}") == {(first.pk, 1)}
    assert listed(admin_client, f"actor__id__exact={annotator2.pk}") == {(second.pk, 1)}
    assert listed(admin_client, "type=saved") == {(second.pk, 2)}
    assert listed(admin_client, f"created_at__year={day.year}&created_at__month={day.month}") == everything
    assert listed(admin_client, f"created_at__year={day.year - 1}") == set()
    job_page = admin_client.get(f"/admin/labeling/event/?item__job__id__exact={job.pk}").content.decode()
    assert second.image.path in job_page  # the item filter lists the chosen job's images
