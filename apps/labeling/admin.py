"""Admin for jobs, label classes and members (through the services the API uses); items, the event log,
snapshots and deletions are read-only, as they are the log and what the log implies."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html

from apps.common.admin import ReadOnlyAdmin
from apps.common.errors import ApiError

from .domain import EVENT_TYPES
from .models import Item, ItemDeletion, JobMember, LabelClass, LabelingJob, Snapshot, StoredEvent
from .services import job_create, job_member_remove, job_member_set, label_class_create, label_class_update


class LabelClassForm(forms.ModelForm):
    """A name taken in the job is a form error, as the API answers 409 `label_class_exists`; Django's own
    check of the (job, name) constraint skips it where the job is not a field of the form. The colour is
    picked with the browser's colour input, which gives #rrggbb in lower case, as the model wants."""

    class Meta:
        model = LabelClass
        fields = "__all__"
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        job = data.get("job") or getattr(self.instance, "job", None)
        name = data.get("name")
        if job is not None and job.pk is not None and name:
            taken = LabelClass.objects.filter(job=job, name=name).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("name", f"This job already has a label class named {name!r}.")
        return data


def label_class_save(label_class: LabelClass, changed: list[str]) -> None:
    """Admin's add or change of a label class, through the services the API uses: a new class gets its
    label slot (the label filter's bit), and open pages of the job hear of the change."""
    if label_class.pk is None:
        created = label_class_create(job=label_class.job, name=label_class.name, color=label_class.color)
        label_class.pk = created.pk
        label_class.refresh_from_db()
        return
    fields = {name: getattr(label_class, name) for name in ("name", "color") if name in changed}
    if fields:
        label_class_update(label_class=label_class, **fields)


class LabelClassInline(admin.TabularInline):
    """Deleting a class goes through the API (refused while shapes use it, or cascading through events)."""

    model = LabelClass
    form = LabelClassForm
    extra = 0
    can_delete = False


def _member_save(request, obj: JobMember, changed: list[str] | None) -> None:
    """A role changed in admin goes through job_member_set, as through the API: it keeps a job's last
    manager and releases the seats the new role cannot hold (docs/review.md, "Assignments"). `changed`:
    the fields changed (None: a new member)."""
    if changed is None or set(changed) != {"role"}:
        obj.save()
        return
    try:
        job_member_set(job=obj.job, user=obj.user, role=obj.role, by=request.user)
    except ApiError as refusal:
        raise PermissionDenied(refusal.message) from None


# A member row's user is who the membership is: handing it to someone else would end the former user's
# membership without job_member_remove (their seats kept, a job's last manager gone).
HANDED_OVER = "A membership is not handed to someone else: remove it (the member list) and add theirs."


class JobMemberFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any("user" in form.changed_data for form in self.initial_forms):
            raise ValidationError(HANDED_OVER)


class JobMemberInline(admin.TabularInline):
    """Members are removed from the member list, which keeps a job's last manager."""

    model = JobMember
    formset = JobMemberFormSet
    extra = 0
    autocomplete_fields = ["user"]
    can_delete = False


@admin.register(LabelingJob)
class LabelingJobAdmin(admin.ModelAdmin):
    """A job added here is made by `job_create`, as the API makes it: its creator (the admin user unless
    another is chosen) becomes its manager and it gets an item per dataset image. Members are added on
    the job's page once it exists. A job that has items is not deleted: they and their event streams
    are kept (the models protect them), and images leave a job through Delete on its page."""

    list_display = ["name", "job_type", "dataset", "created_by", "created_at"]
    list_filter = ["job_type"]
    search_fields = ["name"]
    inlines = [LabelClassInline, JobMemberInline]

    def get_readonly_fields(self, request, obj=None):  # noqa: ARG002
        # A job's items point at its dataset's images: moving it to another dataset would orphan them.
        return ["dataset"] if obj is not None else []

    def get_inlines(self, request, obj=None):  # noqa: ARG002
        # On the add page the creator's membership is job_create's; a row for them here would collide.
        return self.inlines if obj is not None else [LabelClassInline]

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        # One by one only (no bulk action), and only a job without items (an empty dataset's).
        return obj is not None and not obj.items.exists()

    def save_model(self, request, obj: LabelingJob, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # what job_update does
            return
        job = job_create(
            name=obj.name,
            dataset=obj.dataset,
            created_by=obj.created_by or request.user,
            job_type=obj.job_type,
            description=obj.description,
        )
        obj.pk = job.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is JobMember:
            # A role changed here goes through the service, as on the API (members are not deleted here).
            formset.save(commit=False)
            for member in formset.new_objects:
                member.save()
            for member, changed in formset.changed_objects:
                _member_save(request, member, changed)
            return
        if formset.model is not LabelClass:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for label_class in formset.new_objects:
            label_class_save(label_class, [])
        for label_class, changed in formset.changed_objects:
            label_class_save(label_class, changed)


@admin.register(LabelClass)
class LabelClassAdmin(admin.ModelAdmin):
    """Added and changed through the services the API uses; deleted only through the API, which keeps
    shapes and their classes consistent."""

    form = LabelClassForm
    list_display = ["name", "swatch", "job"]
    list_filter = ["job"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False

    @admin.display(description="colour", ordering="color")
    def swatch(self, label_class: LabelClass) -> str:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;vertical-align:middle;'
            'border:1px solid #0003;background:{}"></span> {}',
            label_class.color,
            label_class.color,
        )

    def get_readonly_fields(self, request, obj=None):  # noqa: ARG002
        return ["job"] if obj is not None else []

    def save_model(self, request, obj: LabelClass, form, change: bool) -> None:  # noqa: ARG002
        label_class_save(obj, form.changed_data if change else [])


@admin.register(JobMember)
class JobMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "job", "role"]
    list_filter = ["role", "job"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):  # noqa: ARG002
        return ["job", "user"] if obj is not None else []  # HANDED_OVER

    def save_model(self, request, obj: JobMember, form, change: bool) -> None:
        _member_save(request, obj, form.changed_data if change else None)

    def delete_model(self, request, obj: JobMember) -> None:
        try:
            job_member_remove(member=obj, by=request.user)
        except ApiError as refusal:
            raise PermissionDenied(refusal.message) from None

    def delete_queryset(self, request, queryset) -> None:
        for member in queryset:
            self.delete_model(request, member)


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    """Items come from sync and their columns (status, labels, label bits, counts) from the event log;
    "deleted at" is set by Delete on the job's page, which keeps the tallies and records the deletion.
    So admin shows them and changes none of it."""

    list_display = [
        "id",
        "job",
        "image",
        "status",
        "review_status",
        "open_issues",
        "shape_count",
        "hard_example",
        "labeled_by",
        "last_seq",
    ]
    list_filter = ["job", "status", "review_status", "hard_example"]
    search_fields = ["image__path"]
    list_select_related = ["job", "image", "labeled_by"]


class EventTypeFilter(admin.SimpleListFilter):
    """The event types the domain knows, rather than a scan of the whole log for its distinct types."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):  # noqa: ARG002
        return [(name, name) for name in sorted(EVENT_TYPES)]

    def queryset(self, request, queryset):  # noqa: ARG002
        return queryset if self.value() is None else queryset.filter(type=self.value())


class EventItemFilter(admin.SimpleListFilter):
    """The images of the job chosen in the job filter (every item of every job would be too long a list);
    `?item=<id>` also works on its own, as a link from elsewhere."""

    title = "item"
    parameter_name = "item"
    job_parameter = "item__job__id__exact"
    shown = 500

    def lookups(self, request, model_admin):  # noqa: ARG002
        items = Item.objects.select_related("image").order_by("id")
        job, chosen = request.GET.get(self.job_parameter, ""), self.value() or ""
        if job.isdigit():
            items = items.filter(job_id=int(job))[: self.shown]
        elif chosen.isdigit():
            items = items.filter(pk=int(chosen))
        else:
            return []
        return [(str(item.pk), f"{item.pk}: {item.image.path}") for item in items]

    def queryset(self, request, queryset):  # noqa: ARG002
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(item_id=int(value)) if value.isdigit() else queryset.none()


def rounded(value: Any, places: int = 2) -> Any:
    """A payload for people to read: every float to `places` decimals (33.800000000000004 -> 33.8)."""
    if isinstance(value, float):
        return round(value, places)
    if isinstance(value, list | tuple):
        return [rounded(v, places) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v, places) for k, v in value.items()}
    return value


@admin.register(StoredEvent)
class EventAdmin(ReadOnlyAdmin):
    """The event log, read-only, filterable by job, item, actor, type and date. An item is named by its
    image's file; the payload is shown with coordinates to two decimals (what is stored, and hashed, is
    unchanged: the API and the log export give it in full)."""

    list_display = ["item", "seq", "type", "actor", "created_at"]
    list_filter = ["item__job", EventItemFilter, "actor", EventTypeFilter, "created_at"]
    search_fields = ["item__id", "item__image__path", "command_id"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "item__image"]
    exclude = ["payload"]
    readonly_fields = ["payload_shown"]

    @admin.display(description="payload (floats to 2 decimals)")
    def payload_shown(self, event: StoredEvent) -> str:
        text = json.dumps(rounded(event.payload), indent=2, ensure_ascii=False)
        return format_html('<pre class="payload">{}</pre>', text)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item__image")


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["item", "seq", "created_at"]
    list_select_related = ["item__image"]
    exclude = ["state"]


@admin.register(ItemDeletion)
class ItemDeletionAdmin(ReadOnlyAdmin):
    list_display = ["job", "actor", "created_at", "delete_source_files", "forced"]
    list_filter = ["job", "delete_source_files"]
