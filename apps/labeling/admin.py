"""Admin for jobs, label classes, members and items; the event log and snapshots are read-only."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from apps.common.errors import ApiError

from .domain import EVENT_TYPES
from .models import Event, Item, ItemDeletion, JobMember, LabelClass, LabelingJob, Snapshot
from .services import job_member_remove


class LabelClassInline(admin.TabularInline):
    """Deleting a class goes through the API (refused while shapes use it, or cascading through events)."""

    model = LabelClass
    extra = 0
    can_delete = False


class JobMemberInline(admin.TabularInline):
    """Members are removed from the member list, which keeps a job's last manager."""

    model = JobMember
    extra = 0
    autocomplete_fields = ["user"]
    can_delete = False


@admin.register(LabelingJob)
class LabelingJobAdmin(admin.ModelAdmin):
    list_display = ["name", "job_type", "dataset", "created_by", "created_at"]
    list_filter = ["job_type"]
    search_fields = ["name"]
    inlines = [LabelClassInline, JobMemberInline]

    def get_readonly_fields(self, request, obj=None):  # noqa: ARG002
        # A job's items point at its dataset's images: moving it to another dataset would orphan them.
        return ["dataset"] if obj is not None else []


@admin.register(LabelClass)
class LabelClassAdmin(admin.ModelAdmin):
    list_display = ["name", "color", "job"]
    list_filter = ["job"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False  # through the API, which keeps shapes and their classes consistent

    def get_readonly_fields(self, request, obj=None):  # noqa: ARG002
        return ["job"] if obj is not None else []


@admin.register(JobMember)
class JobMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "job", "role"]
    list_filter = ["role", "job"]
    autocomplete_fields = ["user"]

    def delete_model(self, request, obj: JobMember) -> None:
        try:
            job_member_remove(member=obj)
        except ApiError as refusal:
            raise PermissionDenied(refusal.message) from None

    def delete_queryset(self, request, queryset) -> None:
        for member in queryset:
            self.delete_model(request, member)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    """Items' read-model columns come from the event log, so they are shown, not edited."""

    list_display = ["id", "job", "image", "status", "shape_count", "hard_example", "labeled_by", "last_seq"]
    list_filter = ["job", "status", "hard_example"]
    search_fields = ["image__path"]
    readonly_fields = [
        "job",
        "image",
        "status",
        "shape_count",
        "label_class_ids",
        "labeled_by",
        "labeled_at",
        "hard_example",
        "last_seq",
        "saved_seq",
        "updated_at",
    ]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ARG002 - items come from sync
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False


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


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The event log, read-only, filterable by job, item, actor, type and date."""

    list_display = ["item", "seq", "type", "actor", "created_at"]
    list_filter = ["item__job", EventItemFilter, "actor", EventTypeFilter, "created_at"]
    search_fields = ["item__id", "command_id"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "item"]


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["item", "seq", "created_at"]
    exclude = ["state"]


@admin.register(ItemDeletion)
class ItemDeletionAdmin(ReadOnlyAdmin):
    list_display = ["job", "actor", "created_at", "delete_source_files", "forced"]
    list_filter = ["job", "delete_source_files"]
