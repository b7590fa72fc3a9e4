"""Web security (issue 8, point 5): CSRF on session writes, security headers, `check --deploy` under the
production settings, no secrets in the repository, sanitised upload names, and no path traversal in
imports, exports or media.

The websocket origin check has its own tests in test_ws_auth.py and test_ws_edges.py.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.datasets.imports import import_wait, upload_name
from apps.datasets.models import DataImport, Image
from apps.interchange.export import member_name
from apps.labeling.models import StoredEvent
from tests.conftest import PASSWORD, import_put, new_id, png_bytes, square

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def a_polygon(labels: dict[str, Any]) -> dict[str, Any]:
    return {
        "command_id": new_id(),
        "command": {
            "type": "add_polygon",
            "shape_id": new_id(),
            "label_class_id": labels["cat"].pk,
            "points": [list(p) for p in square(5, 5, 10)],
        },
    }


# CSRF ---------------------------------------------------------------------------------------------------


def logged_in_browser(user: Any) -> Client:
    """A browser that logged in through the login form, and so holds a session and a CSRF cookie."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/")
    token = page.cookies["csrftoken"].value
    response = browser.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.content
    return browser


def test_a_session_write_without_the_csrf_token_is_refused_and_stores_nothing(
    item: Any, annotator: Any, labels: dict[str, Any]
) -> None:
    browser = logged_in_browser(annotator)

    response = browser.post(
        f"/api/items/{item.pk}/commands/", a_polygon(labels), content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["message"]
    assert not StoredEvent.objects.filter(item=item).exists()


def test_a_session_write_with_the_csrf_token_from_the_cookie_is_accepted(
    item: Any, annotator: Any, labels: dict[str, Any]
) -> None:
    browser = logged_in_browser(annotator)

    response = browser.post(
        f"/api/items/{item.pk}/commands/",
        a_polygon(labels),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )

    assert response.status_code == 201, response.content
    assert StoredEvent.objects.filter(item=item).count() == 1


def test_a_token_client_needs_no_csrf_token(item: Any, annotator: Any, labels: dict[str, Any]) -> None:
    from apps.accounts.tokens import token_create

    token = token_create(user=annotator).token
    program = Client(enforce_csrf_checks=True)

    response = program.post(
        f"/api/items/{item.pk}/commands/",
        a_polygon(labels),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )

    assert response.status_code == 201, response.content


def test_the_login_form_refuses_a_post_without_the_csrf_token(annotator: Any) -> None:
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/accounts/login/", {"username": annotator.username, "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


# Headers ------------------------------------------------------------------------------------------------


def header_policy(value: str) -> dict[str, list[str]]:
    policy = {}
    for directive in value.split(";"):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


@pytest.mark.parametrize(
    "url", ["/", "/accounts/login/", "/api/jobs/", "/api/schema/", "/static/polylog/api.js"]
)
def test_every_kind_of_response_carries_the_security_headers(client: Any, staff: Any, url: str) -> None:
    client.force_login(staff)

    response = client.get(url)

    assert response.status_code == 200, url
    assert response["X-Content-Type-Options"] == "nosniff"
    if not url.startswith("/static/"):  # WhiteNoise answers before the clickjacking middleware
        assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    policy = header_policy(response["Content-Security-Policy"])
    assert policy["script-src"] == ["testserver/static/"]  # the static files only: no inline script, no eval
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    ("host", "static_url", "script_src"),
    [
        ("labels.example.org", "/static/", "labels.example.org/static/"),
        ("labels.example.org:8443", "/static/", "labels.example.org:8443/static/"),
        ("127.0.0.1:8000", "/assets/", "127.0.0.1:8000/assets/"),
        ("labels.example.org", "https://cdn.example.org/polylog/", "https://cdn.example.org/polylog/"),
        ("[::1]:8000", "/static/", "'self'"),  # CSP cannot name an IPv6 host
    ],
)
def test_pages_may_run_scripts_from_the_static_prefix_alone(
    client: Any, settings: Any, host: str, static_url: str, script_src: str
) -> None:
    settings.ALLOWED_HOSTS = [host.rsplit(":", 1)[0] if not host.startswith("[") else "[::1]"]
    settings.STATIC_URL = static_url

    response = client.get("/accounts/login/", HTTP_HOST=host)

    assert response.status_code == 200
    assert header_policy(response["Content-Security-Policy"])["script-src"] == [script_src]


def test_a_host_django_refuses_gets_a_policy_that_allows_no_script(client: Any) -> None:
    response = client.get("/accounts/login/", HTTP_HOST="evil.example.net")

    assert response.status_code == 400
    assert header_policy(response["Content-Security-Policy"])["script-src"] == ["'none'"]


def test_a_static_url_that_climbs_into_media_serves_no_media_file(item: Any, staff: Any, client: Any) -> None:
    # The policy's path is matched after percent-decoding: /static/..%2fmedia/... is "under /static/" for the
    # browser, so the server must not answer it with a stored file.
    client.force_login(staff)
    name = item.image.file.name

    for url in (f"/static/..%2fmedia/{name}", f"/static/%2e%2e/media/{name}", f"/static/../media/{name}"):
        response = client.get(url)
        assert response.status_code == 404, url


def test_the_session_cookie_is_http_only(annotator: Any) -> None:
    browser = logged_in_browser(annotator)

    assert browser.cookies["sessionid"]["httponly"]
    assert browser.cookies["sessionid"]["samesite"] == "Lax"


@pytest.mark.parametrize("page", ["/", "jobs", "item", "replay"])
def test_no_page_carries_inline_script_the_policy_would_block(
    client: Any, manager: Any, job: Any, item: Any, page: str
) -> None:
    client.force_login(manager)
    url = {
        "/": "/",
        "jobs": f"/jobs/{job.pk}/",
        "item": f"/items/{item.pk}/",
        "replay": f"/items/{item.pk}/replay/",
    }

    html = client.get(url[page]).content.decode()

    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts
    for attributes in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"
    assert "javascript:" not in html


def test_with_s3_the_policy_lets_pages_load_images_from_the_storage_endpoint() -> None:
    env = {**os.environ, "AWS_STORAGE_BUCKET_NAME": "labels", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"}
    printed = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY)"],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert "http://127.0.0.1:9000" in header_policy(printed.strip())["img-src"]


# check --deploy ---------------------------------------------------------------------------------------

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-key-of-enough-length-and-variety-0123456789-ABCDEFGHIJ-xyz",
    "ALLOWED_HOSTS": "labels.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://labels.example.org",
    "POLYLOG_HTTPS": "true",
    "POLYLOG_BEHIND_PROXY": "true",
}


def deploy_check(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**env, **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_the_production_settings() -> None:
    result = deploy_check(PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_without_https_so_the_test_above_means_something() -> None:
    result = deploy_check({**PRODUCTION_ENV, "POLYLOG_HTTPS": "false"})

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


# Secrets -------------------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Django secret key literal": re.compile(r"""SECRET_KEY\s*=\s*["'][^"']{20,}["']"""),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]{6,}@"),
}
# What documentation writes where a real value goes: postgres://polylog:secret@db, SECRET_KEY="<random>".
PLACEHOLDER = re.compile(r":(?:secret|password|changeme)@|[<$][A-Za-z_{]|example", re.IGNORECASE)
# Test fixtures that look like secrets on purpose (a fake production key, moto's documented dummy keys).
ALLOWED = {"tests/integration/test_web_security.py"}


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked release)
        skip = {".venv", "var", ".git", "node_modules", "__pycache__"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


def test_no_secret_is_committed() -> None:
    found = []
    for path in tracked_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative in ALLOWED or not path.exists():
            continue
        try:
            text = path.read_text(errors="ignore")
        except OSError:
            continue
        for name, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                if PLACEHOLDER.search(match.group(0)):
                    continue
                found.append(f"{relative}: {name}: {match.group(0)[:40]}")
    assert not found, "\n".join(found)
    ignored = (ROOT / ".gitignore").read_text()
    assert "var/" in ignored  # the embedded secret key and the database live there


def test_the_embedded_secret_key_is_made_per_install_not_shipped() -> None:
    from django.conf import settings

    assert len(settings.SECRET_KEY) >= 50
    assert not settings.SECRET_KEY.startswith("django-insecure")
    assert settings.SECRET_KEY not in (ROOT / "config" / "settings.py").read_text()


# Upload names and path traversal --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("photo.png", "photo.png"),
        ("my photo (1).png", "my photo (1).png"),
        ("cafe\u0301.png", "café.png"),  # NFC
        ("bad\x00name\x1f.png", "bad_name_.png"),
        ('what<is>this:"|?*.png', "what_is_this_____.png"),
        (".hidden.png", "hidden.png"),
        ("  spaced  .png", "spaced  .png"),
        ("sub/dir/ok.png", "sub/dir/ok.png"),
        ("../../etc/passwd", "../../etc/passwd"),  # kept as it is, so that the import refuses it
        ("x" * 300 + ".png", "x" * 251 + ".png"),
    ],
)
def test_an_uploaded_name_is_made_safe_to_store_and_show(name: str, stored: str) -> None:
    assert upload_name(name) == stored
    assert len(upload_name(name).encode()) <= 255 or "/" in name


def upload(api: Any, dataset: Any, files: list[tuple[str, bytes]]) -> DataImport:
    payload = {"files": [SimpleUploadedFile(name, content) for name, content in files]}
    response = api.post(f"/api/datasets/{dataset.pk}/imports/", payload, format="multipart")
    assert response.status_code == 202, response.content
    import_wait(response.json()["id"], timeout=60)
    return DataImport.objects.get(pk=response.json()["id"])


@pytest.mark.django_db(transaction=True)  # the import's worker thread reads what the request committed
def test_uploaded_files_land_under_the_datasets_folder_with_sanitised_names(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    names = ["..\\..\\evil.png", "/etc/cron.d/x.png", "tab\there.png", "<img src=x onerror=alert(1)>.png"]
    record = upload(
        manager_api, dataset, [(n, png_bytes(10 + i, 10, (i, 9, 9))) for i, n in enumerate(names)]
    )

    media = Path(settings.MEDIA_ROOT).resolve()
    new = Image.objects.filter(dataset=dataset).exclude(
        path__in=["cat_001.png", "dog_002.png", "birds/bird_003.png"]
    )
    assert record.added + record.failed == len(names)
    assert new.count() == record.added >= 3
    for image in new:
        assert not re.search(r'[\x00-\x1f<>:"|?*\\]', image.path), image.path
        assert ".." not in image.path.split("/") and not image.path.startswith("/")
        assert Path(default_storage.path(image.file.name)).resolve().is_relative_to(media / "datasets")


def test_an_upload_over_the_file_size_limit_is_refused_before_anything_is_stored(
    dataset: Any, manager_api: Any, settings: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_IMPORT_FILE_BYTES": 2000}
    images_before = Image.objects.count()
    payload = {
        "files": [
            SimpleUploadedFile("small.png", png_bytes(8, 8)),
            SimpleUploadedFile("big.png", os.urandom(5000)),
        ]
    }

    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", payload, format="multipart")

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "big.png (5000 bytes)" in response.json()["message"]
    assert (DataImport.objects.count(), Image.objects.count()) == (0, images_before)


@pytest.mark.django_db(transaction=True)
def test_a_storage_file_over_the_size_limit_is_refused_without_being_read(
    dataset: Any, manager_api: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MAX_IMPORT_FILE_BYTES": 2000}
    import_put("drop/big.png", os.urandom(5000))
    import_put("drop/small.png", png_bytes(9, 9))
    # What is read, by the name it was opened with: the import may open a file to learn its size from the
    # open file itself (fstat: no race with a swap of the file), but never reads one over the limit.
    names: dict[int, str] = {}
    read: list[str] = []
    real_open, real_read = os.open, os.read

    def opening(name: Any, *args: Any, **kwargs: Any) -> int:
        descriptor = real_open(name, *args, **kwargs)
        names[descriptor] = str(name)
        return descriptor

    def reading(descriptor: int, size: int) -> bytes:
        read.append(names.get(descriptor, "?"))
        return real_read(descriptor, size)

    monkeypatch.setattr(os, "open", opening)
    monkeypatch.setattr(os, "read", reading)

    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "drop"}, format="json")
    import_wait(response.json()["id"], timeout=60)
    record = DataImport.objects.get(pk=response.json()["id"])

    assert (record.added, record.failed) == (1, 1)
    assert record.errors == [{"file": "big.png", "reason": "over 2000 bytes"}]
    # Read by its path, or by its name inside its folder's descriptor (apps/datasets/imports.py).
    assert any(name.endswith("small.png") for name in read)
    assert not any(name.endswith("big.png") for name in read)


@pytest.mark.parametrize(
    ("name", "member"),
    [
        ("../../outside.png", "outside.png"),
        ("/etc/passwd", "etc/passwd"),
        ("a/./b/../c.png", "a/b/c.png"),
        ("..\\..\\win.png", "win.png"),
        ("images/ok.png", "images/ok.png"),
        ("..", "unnamed"),
    ],
)
def test_an_export_member_name_cannot_climb_out(name: str, member: str) -> None:
    assert member_name(name) == member


def test_an_export_stays_inside_its_folder_whatever_the_image_rows_say(job: Any, manager_api: Any) -> None:
    # Rows written around the import (an old version, a hand-edited database) must not reach the zip as is.
    Image.objects.filter(dataset=job.dataset, path="cat_001.png").update(path="../../../etc/cat_001.png")
    Image.objects.filter(dataset=job.dataset, path="dog_002.png").update(path="/abs/dog_002.png")

    for fmt in ("coco", "labelme", "voc", "yolo"):
        response = manager_api.get(f"/api/jobs/{job.pk}/export/?format={fmt}&images=true")
        assert response.status_code == 200, fmt
        archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        for name in archive.namelist():
            assert not name.startswith("/") and ".." not in name.split("/") and "\\" not in name, (fmt, name)


@pytest.mark.parametrize("name", ["../secret_key", "datasets/../../secret_key", "%2e%2e/secret_key"])
def test_media_names_cannot_climb_out_of_the_storage(client: Any, staff: Any, name: str) -> None:
    client.force_login(staff)

    response = client.get(f"/media/{name}")

    assert response.status_code == 404
