"""The pages' CSS and ES modules are served with DEBUG off (as in production), by the app itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/static/polylog/polylog.css", "text/css"), ("/static/polylog/label/page.js", "javascript")],
)
def test_static_files_are_served_without_debug(settings: Any, path: str, kind: str) -> None:
    assert settings.DEBUG is False

    response = Client().get(path)

    assert response.status_code == 200
    assert kind in response["Content-Type"]
    assert b"".join(response.streaming_content) if response.streaming else response.content


def test_an_unknown_static_file_is_a_404(settings: Any) -> None:
    assert Client().get("/static/polylog/no-such-file.js").status_code == 404
