from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Health checks and metrics for load balancers and monitoring (docs/operations.md)."""

    name = "apps.ops"
    label = "ops"
    verbose_name = "Operations"
