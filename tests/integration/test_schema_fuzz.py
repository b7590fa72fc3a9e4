"""Schemathesis over /api/schema/: every documented operation, fuzzed in-process through the WSGI app.

For each operation, schemathesis' coverage phase (boundary and missing values, wrong types, and every HTTP
method the path does not document, which must be a 405) and then a fixed number of fuzzed examples, valid
and invalid alike. They are sent by a manager of a job with a dataset, items, label classes, shapes and an
import (now and then by a staff user), and path ids are mostly those of real objects (ours, and those of
another job, which must look missing). Every answer must not be a 5xx, must have a status code and content
type the schema documents, and a JSON body that matches its documented schema.

Bounded and repeatable: POLYLOG_SCHEMA_FUZZ_EXAMPLES examples per operation (10 unless told), derandomised,
no deadline, no example database. Nothing is excluded: the streamed zip export and JSON Lines logs are read
to their end by the WSGI client, and the multipart upload of imports is generated from its documented form.
The import worker starts on commit, which never comes inside the test's transaction, so no thread outlives
a test; the import views themselves (validation, record, answer) are all exercised. The schema endpoint
itself is not in the schema (SERVE_INCLUDE_SCHEMA is off); tests/integration/test_schema.py covers it.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.generation.feedback import FeedbackSources

# What `@schema.parametrize()` builds for one operation (examples, coverage and fuzzing phases). Called
# directly because on pytest 9.2 the items `parametrize()` makes all get the same node id (schemathesis
# 4.32 sets a private attribute pytest renamed), which hides which operation failed.
from schemathesis.pytest._test_builder import build_operation_test

from tests.assist_model_servers import shared_fake_model
from tests.conftest import new_id, png_bytes, square
from tests.figures import figure

SCHEMA_URL = "/api/schema/?format=json"
EXAMPLES = int(os.environ.get("POLYLOG_SCHEMA_FUZZ_EXAMPLES", "10"))
CONFIG = {
    "seed": 20240917,
    # Fuzzing examples per operation, on top of the coverage phase's cases; more for a deeper run.
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
}


def _served_schema() -> Any:
    """The schema as the app serves it, fetched through the WSGI app at collection. Serving it needs no
    database (it is public and the request carries no credentials)."""
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi(
        SCHEMA_URL, application, config=schemathesis.Config.from_dict(CONFIG)
    )


schema = _served_schema()
OPERATIONS = sorted((result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations())


@pytest.fixture
def _requests_keep_the_test_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection around each request; inside the test's
    transaction that would break it, so (as Django's test client does) those handlers are off."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known_ids(
    db: Any,
    job: Any,
    items: list[Any],
    labels: dict[str, Any],
    manager: Any,
    make_user: Any,
    add_polygon: Any,
    send: Any,
    manager_api: Any,
    settings: Any,
) -> dict[str, list[int]]:
    """A realistic world for the manager, and the ids of its objects by path parameter name.

    Besides the manager's own job there is another one over another dataset that the manager is not in,
    so its ids (job, items, label classes, members, exports) must answer 404 rather than leak. Exports of
    two items or more go to the queue, so the export answers both ways, and there are queued exports in
    each state (made, waiting, failed, expired).
    """
    settings.POLYLOG = {**settings.POLYLOG, "EXPORT_QUEUE_ITEMS": 2}
    # The Model tool asks a fake model server on loopback, so its route is fuzzed past "not configured".
    settings.POLYLOG_ASSIST_MODEL_URL = shared_fake_model().url
    from apps.datasets.imports import dataset_import_start
    from apps.datasets.models import Dataset
    from apps.datasets.services import image_create
    from apps.labeling.models import JobMember
    from apps.labeling.services import job_create

    # Attributes, so that a generated attribute filter naming the class reaches its values (ItemAttribute).
    labels["cat"].attributes = [{"name": "occluded", "kind": "checkbox"}, {"name": "n", "kind": "number"}]
    labels["cat"].save(update_fields=["attributes"])
    for item in items[:2]:
        shape_id = new_id()
        add_polygon(manager_api, item.pk, labels["cat"].pk, shape_id=shape_id, points=square(5, 5, 20))
        add_polygon(manager_api, item.pk, labels["dog"].pk, points=square(30, 20, 10))
        sent = send(
            manager_api,
            item.pk,
            {"type": "set_attributes", "shape_id": shape_id, "values": {"occluded": True}},
        )
        assert sent.status == 201, sent.body
    content = png_bytes(40, 30)
    record = dataset_import_start(dataset=job.dataset, actor=manager, uploads=[("extra.png", content)])
    # Inside the test's transaction nothing is handed to the queue (that waits for a commit): run it here.
    from apps.tasks.models import TaskRun
    from apps.tasks.runner import task_execute

    task_execute(record.task_run_id)
    for thumbnails in TaskRun.objects.filter(parent_id=record.task_run_id):
        task_execute(thumbnails.pk)

    stranger = make_user("stella_stranger")
    other_dataset = Dataset.objects.create(name="Elsewhere", created_by=stranger)
    image_create(dataset=other_dataset, path="far.png", content=png_bytes(30, 20))
    other_job = job_create(
        name="Not yours",
        dataset=other_dataset,
        created_by=stranger,
        label_classes=[{"name": "x", "color": "#123456"}],
    )
    return {
        "job_id": [job.pk, other_job.pk],
        "item_id": [*(item.pk for item in items), *other_job.items.values_list("pk", flat=True)],
        "label_class_id": [
            *(label.pk for label in labels.values()),
            *other_job.label_classes.values_list("pk", flat=True),
        ],
        "member_id": list(JobMember.objects.values_list("pk", flat=True)),
        "dataset_id": [job.dataset_id, other_dataset.pk],
        "import_id": [record.pk],
        "export_id": [
            *(made_export(job, manager, status) for status in ("done", "queued", "failed", "expired")),
            made_export(other_job, stranger, "done"),
        ],
    }


def made_export(job: Any, user: Any, status: str) -> int:
    """An export of the job as the queue leaves it in `status` (expired: made, then past its time)."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from apps.interchange.models import Export
    from apps.tasks.models import TaskRun

    made = status in ("done", "expired")
    run = TaskRun.objects.create(
        kind="interchange.export", status="done" if made else status, error="it broke" * (status == "failed")
    )
    name = (
        default_storage.save(f"exports/{job.pk}/fuzz.zip", ContentFile(b"PK\x05\x06" + bytes(18)))
        if made
        else ""
    )
    expires = timezone.now() + timedelta(hours=1 if status == "done" else -1) if made else None
    return Export.objects.create(
        job=job, requested_by=user, format="coco", run=run, file=name, expires_at=expires
    ).pk


@pytest.fixture
def identities(db: Any, manager: Any, staff: Any) -> list[dict[str, str]]:
    """Token headers of who sends the requests: mostly the manager (who may also create jobs), now and
    then a staff user, so that the staff-only writes (creating a dataset) get past their guard too."""
    from django.contrib.auth.models import Permission

    from apps.accounts.tokens import token_create

    manager.user_permissions.add(Permission.objects.get(codename="add_labelingjob"))
    manager_token = token_create(user=manager).token
    staff_token = token_create(user=staff).token
    return [{"Authorization": f"Token {key}"} for key in (manager_token,) * 4 + (staff_token,)]


def test_the_fuzzed_schema_is_the_one_the_app_serves_now() -> None:
    """Collection fetched the schema once; it is the same document a client gets."""
    from rest_framework.test import APIClient

    assert APIClient().get(SCHEMA_URL).json() == schema.raw_schema


# Requests sent, for `make bench` (tests/figures.py).
SENT: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    figure(f"OpenAPI fuzz: requests over {len(OPERATIONS)} operations", SENT["requests"], "requests")
    figure("OpenAPI fuzz: 5xx or undocumented status codes", 0, "", "0", True)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented_whatever_it_is_sent(
    method: str,
    path: str,
    known_ids: dict[str, list[int]],
    identities: list[dict[str, str]],
    _requests_keep_the_test_connection: None,
) -> None:
    sent = itertools.count()

    # The seeded data is set up once per operation, and its examples act on it in turn, on purpose.
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    def answers_as_documented(case: Any) -> None:
        n = next(sent)
        # Three times in four aim at an object that exists (ours or another job's, in turn); otherwise
        # keep the generated id, which is almost always unknown. Counting keeps the runs repeatable.
        for name in list(case.path_parameters or {}):
            if name in known_ids and n % 4:
                case.path_parameters[name] = known_ids[name][n % len(known_ids[name])]
        SENT["requests"] += 1
        case.call_and_validate(headers=identities[n % len(identities)])

    run = build_operation_test(
        config=schema.config,
        operation=schema[path][method],
        test_func=answers_as_documented,
        given_kwargs={},
        feedback=FeedbackSources(),
    )
    run()


# What the fuzzer found, kept as plain tests so that they stay fixed whatever examples a run draws.


def test_a_write_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(db: Any) -> None:
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/api/no-such-endpoint/", {"a": "b"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_import_path_with_a_name_too_long_for_any_file_system_is_refused(
    dataset: Any, manager_api: Any
) -> None:
    response = manager_api.post(f"/api/datasets/{dataset.pk}/imports/", {"path": "0" * 300}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_creating_a_dataset_without_staff_is_a_documented_refusal(manager_api: Any) -> None:
    responses = schema.raw_schema["paths"]["/api/datasets/"]["post"]["responses"]

    response = manager_api.post("/api/datasets/", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    assert "403" in responses


def test_an_unknown_api_path_with_a_newline_in_it_is_a_json_404(manager_api: Any) -> None:
    response = manager_api.delete("/api/jobs/%0A/label-classes/1/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
