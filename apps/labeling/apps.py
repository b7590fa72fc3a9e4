from __future__ import annotations

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "apps.labeling"
    label = "labeling"
    verbose_name = "Labeling"

    def ready(self) -> None:
        from .live import connect_signals

        connect_signals()
