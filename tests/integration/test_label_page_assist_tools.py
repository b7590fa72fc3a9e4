"""The labeling page offers the assisted tools the server has (docs/ui.md, "Assisted outlines"): scissors,
box and wand always, the model tool only when a model server is configured (POLYLOG_ASSIST_MODEL_URL)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def opened(client: Any, user: Any, item: Any) -> tuple[dict[str, Any], str]:
    """The labeling page of `item` as `user` sees it: its boot data and its HTML."""
    client.force_login(user)
    page = client.get(f"/items/{item.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    boot = re.search(r'<script id="boot" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(boot.group(1)), html


def tool_buttons(html: str) -> list[str]:
    return re.findall(r'data-tool="(scissors|box_assist|wand|model)"', html)


def test_without_a_model_server_the_page_has_no_model_tool(client, manager, item, settings):
    settings.POLYLOG_ASSIST_MODEL_URL = ""
    boot, html = opened(client, manager, item)
    assert boot["assist_tools"] == ["scissors", "box", "wand"]
    assert tool_buttons(html) == ["scissors", "box_assist", "wand"]


def test_with_a_model_server_configured_the_model_tool_appears(client, annotator, item, settings):
    settings.POLYLOG_ASSIST_MODEL_URL = "http://127.0.0.1:9/segment"
    boot, html = opened(client, annotator, item)
    assert boot["assist_tools"] == ["scissors", "box", "wand", "model"]
    assert tool_buttons(html) == ["scissors", "box_assist", "wand", "model"]
