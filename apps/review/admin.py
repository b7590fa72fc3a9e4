"""Admin: assignments, and their record read-only (append-only: nobody edits or deletes a change)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Assignment, AssignmentChange


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["item", "job", "annotator", "reviewer", "updated_at"]
    list_filter = ["job"]
    list_select_related = ["item__image", "job", "annotator", "reviewer"]
    raw_id_fields = ["item", "annotator", "reviewer"]
    search_fields = ["item__image__path", "annotator__username", "reviewer__username"]

    def has_add_permission(self, request: Any) -> bool:
        # Through the API, so that every change is recorded.
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AssignmentChange)
class AssignmentChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "job", "item", "role", "previous", "assignee", "changed_by", "batch"]
    list_filter = ["job", "role"]
    list_select_related = ["item__image", "job", "previous", "assignee", "changed_by"]
    search_fields = ["item__image__path", "assignee__username", "changed_by__username"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
