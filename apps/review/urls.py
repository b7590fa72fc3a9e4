"""Routes under /api/ for apps.review (included from config/urls.py)."""

from __future__ import annotations

urlpatterns: list = []
