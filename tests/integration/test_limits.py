"""Resource limits (issue 8, point 6): every limit is a setting read from the environment, and going over
one is refused with a stable code and a message that names the limit, storing nothing.

Limits tested elsewhere, each against a small value set in settings:
- JSON body size: test_api_errors.py::test_a_body_too_large_is_refused_with_a_code;
- websocket frame size: test_ws_frames.py (frame_too_large);
- vertices per polygon and shapes per item: test_api_commands.py (too_many_vertices, too_many_shapes), and
  the domain's own tests;
- image pixel count: test_api_imports.py (decompression bomb);
- import file size: test_web_security.py (an upload, and a file in storage, over the limit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.datasets.models import DataImport, Image
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

# (environment variable, where the setting lives, a value to set it to)
LIMITS = [
    ("POLYLOG_MAX_BODY_BYTES", "DATA_UPLOAD_MAX_MEMORY_SIZE", 123456),
    ("POLYLOG_MAX_REQUEST_BYTES", "POLYLOG.MAX_REQUEST_BYTES", 7654321),
    ("POLYLOG_MAX_UPLOAD_FILES", "POLYLOG.MAX_UPLOAD_FILES", 17),
    ("POLYLOG_MAX_UPLOAD_FILES", "DATA_UPLOAD_MAX_NUMBER_FILES", 17),
    ("POLYLOG_MAX_IMPORT_FILE_BYTES", "POLYLOG.MAX_IMPORT_FILE_BYTES", 99999),
    ("POLYLOG_MAX_IMAGE_PIXELS", "POLYLOG.MAX_IMAGE_PIXELS", 4000000),
    ("POLYLOG_MAX_VERTICES", "POLYLOG.MAX_VERTICES", 77),
    ("POLYLOG_MAX_SHAPES", "POLYLOG.MAX_SHAPES", 55),
    ("POLYLOG_MAX_DRAFTS", "POLYLOG.MAX_DRAFTS", 3),
    ("POLYLOG_WS_MAX_FRAME_BYTES", "POLYLOG.WS_MAX_FRAME_BYTES", 4096),
    ("POLYLOG_WS_COMMANDS_PER_SECOND", "POLYLOG.WS_COMMANDS_PER_SECOND", 7.5),
    ("POLYLOG_WS_COMMAND_BURST", "POLYLOG.WS_COMMAND_BURST", 9),
    ("POLYLOG_WS_CURSORS_PER_SECOND", "POLYLOG.WS_CURSORS_PER_SECOND", 4.0),
    ("POLYLOG_WS_IDLE_SECONDS", "POLYLOG.WS_IDLE_SECONDS", 60.0),
    ("POLYLOG_LOGIN_FAILURES", "POLYLOG.LOGIN_FAILURES", 4),
    ("POLYLOG_LOGIN_FAILURES_PER_ADDRESS", "POLYLOG.LOGIN_FAILURES_PER_ADDRESS", 40),
    ("POLYLOG_LOGIN_WINDOW_SECONDS", "POLYLOG.LOGIN_WINDOW_SECONDS", 120),
    ("POLYLOG_TOKEN_TTL_HOURS", "POLYLOG.TOKEN_TTL_HOURS", 1.5),
]


def test_every_limit_is_set_from_the_environment() -> None:
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps({'POLYLOG': settings.POLYLOG, 'DATA_UPLOAD_MAX_MEMORY_SIZE': "
        "settings.DATA_UPLOAD_MAX_MEMORY_SIZE, 'DATA_UPLOAD_MAX_NUMBER_FILES': settings.DATA_UPLOAD_MAX_NUMBER_FILES}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.update({variable: str(value) for variable, _, value in LIMITS})

    printed = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    values = json.loads(printed)

    for variable, where, value in LIMITS:
        found: Any = values
        for part in where.split("."):
            found = found[part]
        assert found == value, f"{variable} did not set {where}"


def files(count: int, size: int = 0) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"f{n}.png", png_bytes(8 + n, 8) + b"\0" * size) for n in range(count)]


def test_a_request_over_the_whole_body_limit_is_refused_before_it_is_read(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_REQUEST_BYTES": 10_000}
    images_before = Image.objects.count()

    response = manager_api.post(
        f"/api/datasets/{dataset.pk}/imports/", {"files": files(3, size=5000)}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "at most 10000" in response.json()["message"]
    assert (DataImport.objects.count(), Image.objects.count()) == (0, images_before)


def test_a_request_under_the_whole_body_limit_goes_through(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_REQUEST_BYTES": 100_000}

    response = manager_api.post(
        f"/api/datasets/{dataset.pk}/imports/", {"files": files(2)}, format="multipart"
    )

    assert response.status_code == 202, response.content


def test_a_malformed_content_length_is_a_clear_400(item: Any, annotator_api: Any) -> None:
    response = annotator_api.post(
        f"/api/items/{item.pk}/commands/", data="{}", content_type="application/json", CONTENT_LENGTH="lots"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize("count", [3, 5])
def test_an_upload_of_more_files_than_allowed_is_refused_whole(
    dataset: Any, manager_api: Any, settings: Any, count: int
) -> None:
    # 3: our own check; 5: past Django's own cap as well (it follows ours, but here both are set apart).
    settings.POLYLOG = {**settings.POLYLOG, "MAX_UPLOAD_FILES": 2}
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 4

    response = manager_api.post(
        f"/api/datasets/{dataset.pk}/imports/", {"files": files(count)}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_files"
    assert DataImport.objects.count() == 0
