"""Queued exports in the admin, read-only: the export view and the queue write them, and the sweep deletes
their files when they expire (a row deleted here would leave its file behind)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "job",
        "format",
        "with_images",
        "requested_by",
        "run",
        "size",
        "created_at",
        "expires_at",
    ]
    list_filter = ["format"]
    list_select_related = ["job", "requested_by", "run"]

    def has_add_permission(self, request: Any) -> bool:  # noqa: ARG002
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:  # noqa: ARG002
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:  # noqa: ARG002
        return False
