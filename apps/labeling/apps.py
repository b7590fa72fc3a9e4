from __future__ import annotations

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "apps.labeling"
    label = "labeling"
    verbose_name = "Labeling"

    def ready(self) -> None:
        from apps.accounts.signals import user_deactivated
        from apps.datasets.signals import images_imported, images_registered

        from . import tasks  # noqa: F401 - registers the rebuild task
        from .live import connect_signals
        from .services import jobs_items_for_images, jobs_sync_after_import
        from .services.jobs import on_user_deactivated

        connect_signals()
        images_registered.connect(jobs_items_for_images, dispatch_uid="labeling.jobs_items_for_images")
        images_imported.connect(jobs_sync_after_import, dispatch_uid="labeling.jobs_sync_after_import")
        user_deactivated.connect(on_user_deactivated, dispatch_uid="labeling.on_user_deactivated")
