"""Shared fixtures: people in every role, a dataset of small generated images, a job over it, API clients.

Every test gets its own media folder and an empty state cache, so nothing leaks between tests.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest
from PIL import Image as PILImage

# The hooks that hold each figure until its module's tests have passed (tests/figures.py).
from tests.figures import (  # noqa: F401 - pytest finds hooks among a conftest's names
    pytest_runtest_makereport,
    pytest_runtest_protocol,
    pytest_sessionfinish,
)

PASSWORD = "correct-horse-battery"

# (path inside the dataset, width, height): small and of different sizes, one in a sub-folder.
IMAGES = [("cat_001.png", 100, 80), ("dog_002.png", 120, 90), ("birds/bird_003.png", 64, 48)]
LABEL_CLASSES = [{"name": "cat", "color": "#ff0000"}, {"name": "dog", "color": "#00aa00"}]


def png_bytes(width: int, height: int, colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    picture = PILImage.new("RGB", (width, height), colour)
    data = io.BytesIO()
    picture.save(data, format="PNG")
    return data.getvalue()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: Any
) -> None:
    """On SQLite, test in a file as production does, not in Django's shared-cache in-memory database.

    In shared-cache mode a second writer's BEGIN IMMEDIATE fails at once with "database table is locked"
    (SQLITE_LOCKED is not retried by the busy timeout), so concurrent-writer tests could not run at all.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test_polylog.sqlite3")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Stored files go to a per-test folder, and path imports read from another (the import root, which
    import_put fills); overriding STORAGES resets default_storage."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    # Tasks run in this process (the embedded pool) even when REDIS_URL is set: an RQ worker, another
    # process, would not see this test's folders. The RQ path is tested with real workers: the worker-kill
    # and topology tests, and the browser test of thumbnails that come later.
    settings.POLYLOG = {
        **settings.POLYLOG,
        "IMPORT_ROOT": str(tmp_path / "import"),
        "TASK_BACKEND": "embedded",
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media), "base_url": "/media/"},
        },
    }


@pytest.fixture
def in_storage(settings: Any) -> Any:
    """The import root as the default has it: a folder of the media storage, which is MediaStorage."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "apps.datasets.storage.MediaStorage",
            "OPTIONS": {"location": str(settings.MEDIA_ROOT), "base_url": "/media/"},
        },
    }
    root = settings.MEDIA_ROOT / "import"
    settings.POLYLOG = {**settings.POLYLOG, "IMPORT_ROOT": str(root)}
    return root


def import_put(path: str, content: bytes) -> None:
    """Put a file at `path` in the import root, as an operator copies files to the server's share: a folder
    with local storage, under the key prefix with object storage."""
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage, default_storage

    root = str(settings.POLYLOG["IMPORT_ROOT"])
    if isinstance(default_storage, FileSystemStorage):
        target = os.path.join(root, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as file:
            file.write(content)
    else:
        default_storage.save(f"{root.strip('/')}/{path}".lstrip("/"), ContentFile(content))


def pytest_configure(config: Any) -> None:
    """No periodic sweep of task runs in this process (config/asgi.py starts one where a test module imports
    it): the tests that need a sweep call it, and none runs against a test's data behind its back."""
    from django.conf import settings

    settings.POLYLOG["TASK_SWEEP_SECONDS"] = 0
    # Nor a thread checkpointing SQLite's log (apps/common/sqlite_wal.py).
    settings.POLYLOG["SQLITE_CHECKPOINT_SECONDS"] = 0


def service_missing(exc: Exception, needs: str) -> NoReturn:
    """A local service a test needs does not answer: the test skips, saying so, except on CI (CI=true),
    where a missing dependency fails the run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{exc}; CI must provide {needs}")
    pytest.skip(f"{exc}; this test needs {needs}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `postgres` run in the PostgreSQL pass only (.ci/run's second `make test`), where
    DATABASE_URL names PostgreSQL; elsewhere they skip, CI or not, since that pass runs them."""
    if item.get_closest_marker("postgres") and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://..., .ci/run's second make test)")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_state_cache() -> Any:
    from apps.labeling.store import state_cache

    state_cache.clear()
    yield
    state_cache.clear()


@pytest.fixture(autouse=True)
def _empty_django_cache() -> Any:
    """Django's cache holds the failed-login counts: one test's failures must not throttle the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Any:
    """Every test starts with new channel layer instances. Each async test runs its own event loop, and a
    layer keeps state of the loop it last received in (channels_redis' receive lock and count): a consumer
    still receiving when an earlier test's loop closed would leave the next test a lock of a dead loop. A
    server has one loop per process, so this is the tests' isolation, not a fix the app needs."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


# People -------------------------------------------------------------------------------------------


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[..., Any]:
    def make(username: str, **extra: Any) -> Any:
        return django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def manager(make_user: Callable[..., Any]) -> Any:
    return make_user("mia_manager")


@pytest.fixture
def annotator(make_user: Callable[..., Any]) -> Any:
    return make_user("ann_annotator")


@pytest.fixture
def annotator2(make_user: Callable[..., Any]) -> Any:
    return make_user("bob_annotator")


@pytest.fixture
def auditor(make_user: Callable[..., Any]) -> Any:
    return make_user("aud_auditor")


@pytest.fixture
def outsider(make_user: Callable[..., Any]) -> Any:
    return make_user("otto_outsider")


@pytest.fixture
def reviewer(make_user: Callable[..., Any], job: Any) -> Any:
    """The job's reviewer (issue 24): reads everything, reviews, never edits shapes."""
    from apps.labeling.models import Role
    from apps.labeling.services import job_member_set

    user = make_user("rev_reviewer")
    job_member_set(job=job, user=user, role=Role.REVIEWER)
    return user


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> Any:
    return make_user("sam_staff", is_staff=True)


# Data ---------------------------------------------------------------------------------------------


@pytest.fixture
def dataset(db: Any, manager: Any) -> Any:
    from apps.datasets.models import Dataset
    from apps.datasets.services import image_create

    dataset = Dataset.objects.create(name="Pets", created_by=manager)
    for path, width, height in IMAGES:
        image_create(dataset=dataset, path=path, content=png_bytes(width, height))
    return dataset


@pytest.fixture
def job(dataset: Any, manager: Any, annotator: Any, annotator2: Any, auditor: Any) -> Any:
    from apps.labeling.models import Role
    from apps.labeling.services import job_create, job_member_set

    job = job_create(
        name="Pets segmentation", dataset=dataset, created_by=manager, label_classes=LABEL_CLASSES
    )
    job_member_set(job=job, user=annotator, role=Role.ANNOTATOR)
    job_member_set(job=job, user=annotator2, role=Role.ANNOTATOR)
    job_member_set(job=job, user=auditor, role=Role.AUDITOR)
    return job


@pytest.fixture
def labels(job: Any) -> dict[str, Any]:
    """The job's label classes by name."""
    return {label.name: label for label in job.label_classes.all()}


@pytest.fixture
def items(job: Any) -> list[Any]:
    """The job's items in image-path order: birds/bird_003 (64x48), cat_001 (100x80), dog_002 (120x90)."""
    return list(job.items.select_related("image").order_by("image__path"))


@pytest.fixture
def item(items: list[Any]) -> Any:
    """The cat image's item (100x80)."""
    return next(i for i in items if i.image.name == "cat_001.png")


# API clients --------------------------------------------------------------------------------------


@pytest.fixture
def client_for() -> Callable[[Any], Any]:
    from rest_framework.test import APIClient

    def make(user: Any | None) -> Any:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture
def manager_api(client_for: Callable[[Any], Any], manager: Any) -> Any:
    return client_for(manager)


@pytest.fixture
def annotator_api(client_for: Callable[[Any], Any], annotator: Any) -> Any:
    return client_for(annotator)


@pytest.fixture
def auditor_api(client_for: Callable[[Any], Any], auditor: Any) -> Any:
    return client_for(auditor)


@pytest.fixture
def reviewer_api(client_for: Callable[[Any], Any], reviewer: Any) -> Any:
    return client_for(reviewer)


@pytest.fixture
def outsider_api(client_for: Callable[[Any], Any], outsider: Any) -> Any:
    return client_for(outsider)


@pytest.fixture
def staff_api(client_for: Callable[[Any], Any], staff: Any) -> Any:
    return client_for(staff)


# The log, replayed with the pure domain (independent of the store's own loading code) -------------


def replay_log(item: Any, upto_seq: int | None = None) -> Any:
    """The item's state at `upto_seq` (default: the end) as a fold of its stored events 1..N."""
    from apps.labeling.domain import event_from_record, evolve, initial_state
    from apps.labeling.models import StoredEvent

    rows = StoredEvent.objects.filter(item_id=item.pk).order_by("seq")
    if upto_seq is not None:
        rows = rows.filter(seq__lte=upto_seq)
    state = initial_state(item.image.width, item.image.height)
    for row in rows:
        state = evolve(state, event_from_record(row.type, row.schema_version, row.payload, row.actor_id))
    return state


def replay_view(item: Any, upto_seq: int | None = None) -> dict[str, Any]:
    """The replayed state in its public (GET state) form."""
    from apps.labeling.domain import state_view

    return state_view(replay_log(item, upto_seq), item.pk)


# Commands -----------------------------------------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def square(x: float, y: float, size: float) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


@dataclass
class Sent:
    status: int
    body: Any
    command_id: str


@pytest.fixture
def send() -> Callable[..., Sent]:
    """POST a command to an item: send(client, item_id, {"type": ...}, command_id=..., expected_seq=...)."""

    def post(
        client: Any,
        item_id: int,
        command: Any,
        *,
        command_id: str | None = None,
        expected_seq: int | None = None,
    ) -> Sent:
        command_id = command_id or new_id()
        data: dict[str, Any] = {"command_id": command_id, "command": command}
        if expected_seq is not None:
            data["expected_seq"] = expected_seq
        response = client.post(f"/api/items/{item_id}/commands/", data, format="json")
        return Sent(response.status_code, response.json(), command_id)

    return post


@pytest.fixture
def add_polygon(send: Callable[..., Sent]) -> Callable[..., Sent]:
    """Add a square polygon (a 10-pixel square at (10, 10) unless told) and insist it was accepted."""

    def add(
        client: Any,
        item_id: int,
        label_class_id: int,
        *,
        shape_id: str | None = None,
        points: list[list[float]] | None = None,
    ) -> Sent:
        command = {
            "type": "add_polygon",
            "shape_id": shape_id or new_id(),
            "label_class_id": label_class_id,
            "points": points or square(10, 10, 10),
        }
        sent = send(client, item_id, command)
        assert sent.status == 201, sent.body
        return sent

    return add
