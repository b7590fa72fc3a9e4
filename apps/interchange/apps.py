from django.apps import AppConfig


class InterchangeConfig(AppConfig):
    name = "apps.interchange"
    label = "interchange"

    def ready(self) -> None:
        from apps.datasets.imports import labeled_importers

        from .labeled import register

        register(labeled_importers)
