from __future__ import annotations

from django.contrib import admin

from .models import DataImport, Dataset, Image


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ["path", "width", "height", "checksum"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [ImageInline]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    """Images are added by imports; their size and file are facts of the stored file, so read-only."""

    list_display = ["path", "dataset", "width", "height", "created_at"]
    list_filter = ["dataset"]
    search_fields = ["path", "name", "checksum"]
    readonly_fields = ["dataset", "file", "thumbnail", "width", "height", "checksum"]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False


@admin.register(DataImport)
class DataImportAdmin(admin.ModelAdmin):
    """The history of Add data, read-only."""

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

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False
