"""Task runs in the admin, read-only: the queue writes them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import TaskRun


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "done", "total", "attempts", "worker", "created_at", "duration"]
    list_filter = ["status", "kind"]

    def has_add_permission(self, request: Any) -> bool:  # noqa: ARG002
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:  # noqa: ARG002
        return False
