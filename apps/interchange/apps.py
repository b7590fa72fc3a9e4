from django.apps import AppConfig


class InterchangeConfig(AppConfig):
    name = "apps.interchange"
    label = "interchange"

    def ready(self) -> None:
        from apps.datasets.imports import labeled_importers

        from . import exports  # noqa: F401 - registers the export task and its expiry sweep
        from .labeled import register

        register(labeled_importers)
