"""The bench servers' URLs: polylog's (config.urls) plus the REST floor, which production never serves.

tests/bench/asgi.py makes this module the bench servers' ROOT_URLCONF.
"""

from __future__ import annotations

from django.urls import path

from config.urls import handler500
from config.urls import urlpatterns as polylog_urlpatterns
from tests.bench.floor import FloorCommand

# Ahead of polylog's: its /api/ ends in a catch-all that answers 404.
urlpatterns = [
    path("api/floor/items/<int:item_id>/commands/", FloorCommand.as_view(), name="floor-commands"),
    *polylog_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
