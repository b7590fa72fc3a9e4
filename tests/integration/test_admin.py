"""Django admin: the management pages load for a superuser; the event log is shown read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.forms.models import model_to_dict

from apps.datasets.models import DataImport, Dataset, Image
from apps.labeling.models import Item, ItemDeletion, JobMember, LabelClass, LabelingJob, Role, StoredEvent
from apps.labeling.services import items_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any) -> Any:
    add_polygon(annotator_api, item.pk, labels["cat"].pk)
    return StoredEvent.objects.get(item=item)


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
        "/admin/labeling/storedevent/",
        "/admin/labeling/storedevent/?type=polygon_added",
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
    page = admin_client.get("/admin/labeling/storedevent/").content.decode()

    assert "polygon_added" in page


def test_the_event_log_has_no_add_page(admin_client: Any, event: Any) -> None:
    assert admin_client.get("/admin/labeling/storedevent/add/").status_code == 403
    assert (
        admin_client.post("/admin/labeling/storedevent/add/", {"seq": 2, "type": "saved"}).status_code == 403
    )
    assert StoredEvent.objects.count() == 1


def test_the_event_page_is_read_only(admin_client: Any, event: Any) -> None:
    response = admin_client.get(f"/admin/labeling/storedevent/{event.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert "polygon_added" in page


def test_posting_to_an_event_page_changes_nothing(admin_client: Any, event: Any) -> None:
    response = admin_client.post(
        f"/admin/labeling/storedevent/{event.pk}/change/",
        {"type": "saved", "seq": 7, "payload": "{}", "hash": "0" * 64, "_save": "Save"},
    )

    assert response.status_code == 403
    fresh = StoredEvent.objects.get(pk=event.pk)
    assert (fresh.type, fresh.seq, fresh.payload, fresh.hash) == (
        event.type,
        event.seq,
        event.payload,
        event.hash,
    )


def test_an_event_cannot_be_deleted(admin_client: Any, event: Any) -> None:
    assert admin_client.get(f"/admin/labeling/storedevent/{event.pk}/delete/").status_code == 403
    assert (
        admin_client.post(f"/admin/labeling/storedevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert StoredEvent.objects.filter(pk=event.pk).exists()


def test_the_event_list_offers_no_bulk_delete(admin_client: Any, event: Any) -> None:
    response = admin_client.post(
        "/admin/labeling/storedevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert response.status_code in (200, 302, 403)
    assert StoredEvent.objects.filter(pk=event.pk).exists()
    assert "delete_selected" not in admin_client.get("/admin/labeling/storedevent/").content.decode()


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

    response = client.get("/admin/labeling/storedevent/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def listed(admin_client: Any, query: str) -> set[tuple[int, int]]:
    """The (item id, seq) of the events the admin's event list shows for `query`."""
    response = admin_client.get(f"/admin/labeling/storedevent/?{query}")
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
    day = StoredEvent.objects.get(item=first).created_at

    assert everything == {(first.pk, 1), (second.pk, 1), (second.pk, 2), (other_item.pk, 1)}
    assert listed(admin_client, f"item__job__id__exact={job.pk}") == everything - {(other_item.pk, 1)}
    assert listed(admin_client, f"item={second.pk}") == {(second.pk, 1), (second.pk, 2)}
    assert listed(admin_client, f"item__job__id__exact={job.pk}&item={first.pk}") == {(first.pk, 1)}
    assert listed(admin_client, f"actor__id__exact={annotator2.pk}") == {(second.pk, 1)}
    assert listed(admin_client, "type=saved") == {(second.pk, 2)}
    assert listed(admin_client, f"created_at__year={day.year}&created_at__month={day.month}") == everything
    assert listed(admin_client, f"created_at__year={day.year - 1}") == set()
    job_page = admin_client.get(
        f"/admin/labeling/storedevent/?item__job__id__exact={job.pk}"
    ).content.decode()
    assert second.image.path in job_page  # the item filter lists the chosen job's images


# Stored facts and derived data are read-only in admin (issue 16, point 8) ---------------------------


@pytest.fixture
def read_only_rows(
    item: Any,
    items: list[Any],
    manager: Any,
    event: Any,
    settings: Any,
    annotator_api: Any,
    send: Any,
) -> dict[str, tuple[str, Any, dict[str, Any]]]:
    """For each model admin must not change: its admin path, a row of it, and a change POST that would
    alter it if admin accepted it."""
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 1}
    send(annotator_api, item.pk, {"type": "mark_hard_example"})
    deletion = items_delete(items=[items[0]], actor=manager).deletion
    data_import = DataImport.objects.create(dataset=item.image.dataset, actor=manager, source="upload")
    return {
        "item": (
            "labeling/item",
            item,
            {"label_bits": "7", "deleted_at_0": "2020-01-01", "deleted_at_1": "00:00:00", "hard_example": ""},
        ),
        "event": (
            "labeling/storedevent",
            event,
            {"type": "saved", "seq": "7", "payload": "{}", "hash": "0" * 64},
        ),
        "snapshot": ("labeling/snapshot", item.snapshots.first(), {"seq": "9", "state": "{}"}),
        "deletion": ("labeling/itemdeletion", deletion, {"item_ids": "[]", "files_deleted": "[]"}),
        "import": ("datasets/dataimport", data_import, {"status": "done", "added": "99", "errors": "[]"}),
        "image": ("datasets/image", item.image, {"path": "renamed.png", "name": "renamed.png", "width": "1"}),
    }


READ_ONLY = ["item", "event", "snapshot", "deletion", "import", "image"]


def stored(row: Any) -> dict[str, Any]:
    fresh = type(row).objects.get(pk=row.pk)
    return {**model_to_dict(fresh), "deleted_at": getattr(fresh, "deleted_at", None)}


@pytest.mark.parametrize("name", READ_ONLY)
def test_a_read_only_models_page_renders_without_save_or_delete(
    admin_client: Any, read_only_rows: dict[str, Any], name: str
) -> None:
    path, row, _ = read_only_rows[name]

    response = admin_client.get(f"/admin/{path}/{row.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert f"/admin/{path}/{row.pk}/delete/" not in page


@pytest.mark.parametrize("name", READ_ONLY)
def test_a_change_post_to_a_read_only_model_is_refused_and_changes_nothing(
    admin_client: Any, read_only_rows: dict[str, Any], name: str
) -> None:
    path, row, change = read_only_rows[name]
    before = stored(row)

    response = admin_client.post(f"/admin/{path}/{row.pk}/change/", {**change, "_save": "Save"})

    assert response.status_code == 403
    assert stored(row) == before


@pytest.mark.parametrize("name", READ_ONLY)
def test_a_read_only_model_cannot_be_deleted_one_by_one_or_in_bulk(
    admin_client: Any, read_only_rows: dict[str, Any], name: str
) -> None:
    path, row, _ = read_only_rows[name]
    before = stored(row)

    assert admin_client.get(f"/admin/{path}/{row.pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/{path}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        f"/admin/{path}/", {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )

    assert bulk.status_code in (200, 302)
    assert stored(row) == before
    assert "delete_selected" not in admin_client.get(f"/admin/{path}/").content.decode()


def test_the_image_page_points_to_the_job_pages_delete(admin_client: Any, item: Any) -> None:
    page = admin_client.get(f"/admin/datasets/image/{item.image.pk}/change/").content.decode()

    assert "Delete on its job&#x27;s page" in page or "Delete on its job's page" in page


def test_the_dataset_page_deletes_no_images_and_the_dataset_cannot_be_deleted(
    admin_client: Any, job: Any, manager: Any
) -> None:
    empty = Dataset.objects.create(name="Empty", created_by=manager)
    DataImport.objects.create(dataset=empty, actor=manager, source="upload")
    dataset = job.dataset
    images = Image.objects.filter(dataset=dataset).count()

    page = admin_client.get(f"/admin/datasets/dataset/{dataset.pk}/change/").content.decode()
    refused = admin_client.post(f"/admin/datasets/dataset/{empty.pk}/delete/", {"post": "yes"})

    assert "-DELETE" not in page  # no delete box on the image rows
    assert refused.status_code == 403
    assert Dataset.objects.filter(pk=empty.pk).exists() and empty.imports.count() == 1
    assert "delete_selected" not in admin_client.get("/admin/datasets/dataset/").content.decode()
    assert Image.objects.filter(dataset=dataset).count() == images


def test_a_job_with_items_offers_no_delete(admin_client: Any, job: Any, item: Any) -> None:
    page = admin_client.get(f"/admin/labeling/labelingjob/{job.pk}/change/").content.decode()
    refused = admin_client.post(f"/admin/labeling/labelingjob/{job.pk}/delete/", {"post": "yes"})

    assert f"/admin/labeling/labelingjob/{job.pk}/delete/" not in page
    assert refused.status_code == 403
    assert LabelingJob.objects.filter(pk=job.pk).exists() and Item.objects.filter(job=job).count() == 3


def test_a_job_added_in_admin_is_created_as_the_api_creates_it(
    admin_client: Any, admin_user: Any, dataset: Any
) -> None:
    response = admin_client.post(
        "/admin/labeling/labelingjob/add/",
        {
            "name": "Made in admin",
            "description": "",
            "job_type": "image_segmentation",
            "dataset": dataset.pk,
            "created_by": "",
            "label_classes-TOTAL_FORMS": "1",
            "label_classes-INITIAL_FORMS": "0",
            "label_classes-0-name": "cat",
            "label_classes-0-color": "#ff0000",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    job = LabelingJob.objects.get(name="Made in admin")
    assert job.items.count() == dataset.images.count()  # one item per image, as job_create makes them
    assert admin_client.get(f"/api/jobs/{job.pk}/items/").json()["status_counts"]["all"] == 3
    assert dict(job.memberships.values_list("user__username", "role")) == {admin_user.username: Role.MANAGER}
    assert job.label_classes.get().slot == 0


def test_a_label_class_added_or_changed_in_admin_goes_through_the_service(
    admin_client: Any, job: Any, labels: dict[str, Any]
) -> None:
    added = admin_client.post(
        "/admin/labeling/labelclass/add/",
        {"job": job.pk, "name": "bird", "color": "#0000ff", "_save": "Save"},
    )
    duplicate = admin_client.post(
        f"/admin/labeling/labelclass/{labels['dog'].pk}/change/",
        {"name": "cat", "color": "#00aa00", "_save": "Save"},
    )
    changed = admin_client.post(
        f"/admin/labeling/labelclass/{labels['dog'].pk}/change/",
        {"name": "hound", "color": "#00bb00", "_save": "Save"},
    )

    assert added.status_code == 302
    bird = LabelClass.objects.get(job=job, name="bird")
    assert bird.slot == 2  # the next free slot, as label_class_create gives it
    assert duplicate.status_code == 200  # the form shows the error
    assert changed.status_code == 302
    assert LabelClass.objects.filter(pk=labels["dog"].pk).values_list("name", "color").get() == (
        "hound",
        "#00bb00",
    )


def test_the_deletion_record_shown_in_admin_is_the_services(
    admin_client: Any, items: list[Any], manager: Any
) -> None:
    deletion = items_delete(items=[items[0]], actor=manager).deletion

    page = admin_client.get(f"/admin/labeling/itemdeletion/{deletion.pk}/change/").content.decode()

    assert ItemDeletion.objects.count() == 1
    assert manager.username in page


def test_label_classes_edited_on_the_job_page_go_through_the_service(
    admin_client: Any, job: Any, labels: dict[str, Any], manager: Any
) -> None:
    cat, dog = labels["cat"], labels["dog"]
    member = JobMember.objects.get(job=job, user=manager)
    form = {
        "name": job.name,
        "description": job.description,
        "job_type": job.job_type,
        "created_by": manager.pk,
        "label_classes-TOTAL_FORMS": "4",
        "label_classes-INITIAL_FORMS": "2",
        "label_classes-0-id": cat.pk,
        "label_classes-0-job": job.pk,
        "label_classes-0-name": "cat",
        "label_classes-0-color": "#ff0000",
        "label_classes-1-id": dog.pk,
        "label_classes-1-job": job.pk,
        "label_classes-1-name": "dog",
        "label_classes-1-color": "#00aa00",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": member.pk,
        "memberships-0-job": job.pk,
        "memberships-0-user": manager.pk,
        "memberships-0-role": Role.MANAGER,
        "_save": "Save",
    }
    twice = {**form, "label_classes-2-name": "bird", "label_classes-3-name": "bird"}
    twice.update({"label_classes-2-color": "#0000ff", "label_classes-3-color": "#0000ff"})
    taken = {**form, "label_classes-TOTAL_FORMS": "3", "label_classes-2-name": "dog"}
    taken["label_classes-2-color"] = "#0000ff"
    edited = {**form, "label_classes-TOTAL_FORMS": "3", "label_classes-1-color": "#00bb00"}
    edited.update({"label_classes-2-name": "bird", "label_classes-2-color": "#0000ff"})
    page = f"/admin/labeling/labelingjob/{job.pk}/change/"

    refused = [admin_client.post(page, twice).status_code, admin_client.post(page, taken).status_code]
    saved = admin_client.post(page, edited)

    assert refused == [200, 200]  # the form shows the clash; nothing is saved
    assert saved.status_code == 302
    assert dict(job.label_classes.values_list("name", "slot")) == {"cat": 0, "dog": 1, "bird": 2}
    assert job.label_classes.get(name="dog").color == "#00bb00"


# Issue 20, point 7: the plural, item names, rounded payloads (the stored payload unchanged), a colour widget.


def test_the_index_says_label_classes(admin_client: Any) -> None:
    page = admin_client.get("/admin/").content.decode()

    assert "Label classes" in page
    assert "Label classs" not in page


def test_events_name_their_item_by_its_file(admin_client: Any, item: Any, event: Any) -> None:
    listing = admin_client.get("/admin/labeling/storedevent/").content.decode()
    detail = admin_client.get(f"/admin/labeling/storedevent/{event.pk}/change/").content.decode()

    for page in (listing, detail):
        assert f"{item.image.path} (item {item.pk})" in page
        assert f"item {item.pk} ({item.image_id})" not in page
    found = admin_client.get("/admin/labeling/storedevent/", {"q": item.image.path}).content.decode()
    assert "polygon_added" in found


def test_the_event_page_rounds_the_payload_and_the_store_keeps_it_whole(
    admin_client: Any, item: Any, labels: dict[str, Any], annotator_api: Any, add_polygon: Any
) -> None:
    noisy = [[33.800000000000004, 10.0], [60.123456, 10.0], [40.0, 50.55555]]
    add_polygon(annotator_api, item.pk, labels["cat"].pk, points=noisy)
    event = StoredEvent.objects.get(item=item)

    page = admin_client.get(f"/admin/labeling/storedevent/{event.pk}/change/").content.decode()

    assert "33.8," in page and "60.12," in page and "50.56" in page
    assert "33.800000000000004" not in page and "60.123456" not in page
    assert event.payload["points"] == noisy  # what is stored (and hashed) is the payload as decided


def test_a_label_class_is_coloured_with_a_colour_input(admin_client: Any, labels: dict[str, Any]) -> None:
    page = admin_client.get(f"/admin/labeling/labelclass/{labels['cat'].pk}/change/").content.decode()
    listing = admin_client.get("/admin/labeling/labelclass/").content.decode()

    assert 'type="color"' in page and 'value="#ff0000"' in page
    assert "background:#ff0000" in listing


@pytest.mark.parametrize("where", ["member page", "job page"])
def test_a_role_changed_in_admin_releases_the_seats_it_no_longer_holds(
    where: str, admin_client: Any, admin_user: Any, job: Any, items: list[Any], manager: Any, annotator: Any
) -> None:
    """Admin changes roles through job_member_set, as the API does: an annotator made auditor here loses
    their annotator seats (recorded as changed by the admin user), so "Start labeling" offers the images."""
    from apps.review.assignments import assign
    from apps.review.models import Assignment, AssignmentChange

    assign(job=job, by=manager, items=[items[0].pk], annotator=annotator.pk)
    member = JobMember.objects.get(job=job, user=annotator)
    if where == "member page":
        url = f"/admin/labeling/jobmember/{member.pk}/change/"
        form = {"user": annotator.pk, "job": job.pk, "role": Role.AUDITOR, "_save": "Save"}
    else:
        url = f"/admin/labeling/labelingjob/{job.pk}/change/"
        members = list(JobMember.objects.filter(job=job).order_by("pk"))
        form = {
            "name": job.name,
            "description": job.description,
            "job_type": job.job_type,
            "created_by": manager.pk,
            "label_classes-TOTAL_FORMS": "0",
            "label_classes-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": str(len(members)),
            "memberships-INITIAL_FORMS": str(len(members)),
            "_save": "Save",
        }
        for n, row in enumerate(members):
            form.update({f"memberships-{n}-id": row.pk, f"memberships-{n}-job": job.pk})
            form[f"memberships-{n}-user"] = row.user_id
            form[f"memberships-{n}-role"] = Role.AUDITOR if row.pk == member.pk else row.role

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert JobMember.objects.get(pk=member.pk).role == Role.AUDITOR
    assert Assignment.objects.get(item=items[0]).annotator_id is None
    last = AssignmentChange.objects.first()
    assert (last.previous_id, last.assignee_id, last.changed_by_id) == (annotator.pk, None, admin_user.pk)


@pytest.mark.parametrize("where", ["member page", "job page"])
def test_a_membership_is_not_handed_to_someone_else_in_admin(
    where: str, admin_client: Any, job: Any, items: list[Any], manager: Any, annotator: Any, annotator2: Any
) -> None:
    """Changing a member row's user would end the former user's membership without job_member_remove: their
    seats kept, a job's last manager gone. The member page shows who the member is read-only; the job
    page's inline refuses the change with a message. A removal and an addition do it instead."""
    from apps.review.assignments import assign
    from apps.review.models import Assignment

    assign(job=job, by=manager, items=[items[0].pk], annotator=annotator.pk)
    member = JobMember.objects.get(job=job, user=annotator)
    if where == "member page":
        url = f"/admin/labeling/jobmember/{member.pk}/change/"
        form = {"user": annotator2.pk, "job": job.pk, "role": Role.ANNOTATOR, "_save": "Save"}
    else:
        url = f"/admin/labeling/labelingjob/{job.pk}/change/"
        members = list(JobMember.objects.filter(job=job).exclude(user=annotator2).order_by("pk"))
        form = {
            "name": job.name,
            "description": job.description,
            "job_type": job.job_type,
            "created_by": manager.pk,
            "label_classes-TOTAL_FORMS": "0",
            "label_classes-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": str(len(members)),
            "memberships-INITIAL_FORMS": str(len(members)),
            "_save": "Save",
        }
        for n, row in enumerate(members):
            form.update({f"memberships-{n}-id": row.pk, f"memberships-{n}-job": job.pk})
            form[f"memberships-{n}-user"] = annotator2.pk if row.pk == member.pk else row.user_id
            form[f"memberships-{n}-role"] = row.role
    JobMember.objects.filter(job=job, user=annotator2).delete()

    response = admin_client.post(url, form)

    assert JobMember.objects.get(pk=member.pk).user_id == annotator.pk
    assert Assignment.objects.get(item=items[0]).annotator_id == annotator.pk  # still a member's seat
    if where == "job page":
        assert response.status_code == 200  # the form again, with why
        assert "is not handed to someone else" in response.content.decode()
