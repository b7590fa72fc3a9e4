"""Routes under /api/ for apps.assist (included from config/urls.py)."""

from __future__ import annotations

urlpatterns: list = []
