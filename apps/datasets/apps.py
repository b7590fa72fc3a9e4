from __future__ import annotations

from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"

    def ready(self) -> None:
        from . import tasks  # noqa: F401 - registers the import and thumbnail tasks
