"""Admin for datasets; their images and the history of Add data are shown read-only."""

from __future__ import annotations

from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin

from .models import DataImport, Dataset, Image

DELETE_POINTER = (
    "Images are not deleted here. To take images out of a job (and their files out of storage), select"
    " them on the job's page and use Delete on its job's page: it checks who else uses the files and"
    " records the deletion."
)


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ["path", "width", "height", "checksum"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False  # see DELETE_POINTER


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    """Name, description and creator are configuration. A dataset is not deleted here: its jobs protect
    it while they exist, and without them the deletion would take its images and its import history
    with it and leave their files in storage, unrecorded."""

    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [ImageInline]

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False


@admin.register(Image)
class ImageAdmin(ReadOnlyAdmin):
    """Images are added by imports: their path, size and file are facts of the import and of the stored
    file, which jobs, exports and deletion records refer to, so read-only; deleting them is the job
    page's (DELETE_POINTER)."""

    list_display = ["path", "dataset", "width", "height", "created_at"]
    list_filter = ["dataset"]
    search_fields = ["path", "name", "checksum"]
    fields = ["dataset", "path", "name", "file", "thumbnail", "width", "height", "checksum", "deleting"]
    readonly_fields = fields

    @admin.display(description="Deleting")
    def deleting(self, obj: Image) -> str:  # noqa: ARG002
        return DELETE_POINTER


@admin.register(DataImport)
class DataImportAdmin(ReadOnlyAdmin):
    """The history of Add data, read-only: a record of who brought which files in."""

    list_display = [
        "id",
        "dataset",
        "actor",
        "source",
        "format",
        "status",
        "added",
        "duplicates",
        "failed",
        "objects_added",
        "objects_refused",
        "created_at",
    ]
    list_filter = ["status", "source", "format", "dataset"]
