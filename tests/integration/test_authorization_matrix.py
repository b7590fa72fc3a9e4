"""Who may do what: every endpoint, page, media file, admin gate and websocket route against every role,
with the expected answers in one table (TABLE).

How to read the table. A row is one request: a method, a URL whose {placeholders} name objects of the world
every test starts from (`world` below), an optional [variant], then the expected answer for each role in the
column order of ROLES:

    anon   anonymous: no session, no token
    non    signed in, member of no job (the non-member)
    aud    the job's auditor
    rev    the job's reviewer (issue 24): reads as the auditor does (exports too); sends review and issue
           commands, never a shape command (docs/review.md "Roles")
    ann    the job's annotator
    man    the job's manager (who also created the job's dataset)
    oman   another job's manager: manages a job over another dataset, and is in nothing of this job
    staff  is_staff, without admin model permissions; acts as a manager of every job

A cell is an HTTP status; for a websocket it is `open` (handshake accepted) or the close code of the refused
handshake (4401 anonymous, 4404 not a member); for `WS ... [command]` it is the answer to a command frame
sent on the open socket (`ack` or `rejected`).

No request depends on another. An HTTP row is one test over a fresh world, and each role's request in it runs
in a savepoint that is rolled back, so every role meets the same data (a test per cell would build the world
some 360 times, over a minute). A websocket handshake row is one test too, as a handshake changes nothing; a
websocket command is a test per role. Writes send a valid body, so an allowed role gets a 2xx that changed
what WRITES probes, and a refused role's 4xx proves authorization, not validation: the probe shows that
nothing changed. A 404 (or 4404) must also be word for word the answer for an id that names nothing, so ids
reveal nothing (docs/api.md).

Where the expectations come from: DESIGN.md (roles per job: auditor reads and replays, annotator labels,
manager configures, adds and deletes data; staff manage everything), docs/api.md (anonymous 401, a non-member
404 for a job and everything in it, a role too low 403), docs/data.md (imports), docs/ui.md (pages 404 like
the API; anonymous visitors go to the login page), docs/protocol.md (4401, 4404, auditors' commands
rejected). Two choices the documents leave open are fixed here:

- The OpenAPI schema and the AsyncAPI document beside it are public (200 to anonymous), as a reference
  should be: they hold no data, and clients read them before they have a token. (docs/api.md's "anonymous
  requests get 401" is read as: to data.)
- Django admin asks for model permissions on top of is_staff: staff without them see the admin index and get
  403 on model pages; non-staff are sent to the admin login.

The completeness tests walk the URL resolver and the websocket routes: a route without a row, or a view
method without a row, fails the suite. OPTIONS and HEAD are not rows: HEAD is GET without a body (Django's
View answers it with `get`), and DRF answers OPTIONS from the view class alone, behind authentication, without
looking up the object (the same answer for any id), so neither can reveal or change anything GET does not.
Function views (pages, media) answer every method the same way, so GET stands for them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from apps.labeling.store import state_cache
from config.asgi import application
from tests.assist_model_servers import shared_fake_model
from tests.conftest import PASSWORD, new_id, png_bytes, square
from tests.integration.test_ws_support import STOP, WAIT, Peer, Sockets, polygon, token_for

ROLES = ("anon", "non", "aud", "rev", "ann", "man", "oman", "staff")

TABLE = """
# EVERY ROW HAS A `rev` CELL (the job's reviewer, issue 24) between aud and ann: a reviewer reads what an
# auditor reads, sends review/issue commands (ack) and no shape command or write a labeler makes (403).
# method url                                                 anon  non   aud   rev   ann   man   oman  staff
# --- sign-in and reference
  POST   /api/auth/token/                                    400   200   200   200   200   200   200   200
  DELETE /api/auth/token/                                    401   204   204   204   204   204   204   204
  GET    /api/schema/                                        200   200   200   200   200   200   200   200
  GET    /api/asyncapi.json                                  200   200   200   200   200   200   200   200
  GET    /api/no/such/endpoint/                              404   404   404   404   404   404   404   404
# --- datasets and imports (docs/data.md)
  GET    /api/datasets/                                      401   200   200   200   200   200   200   200
  POST   /api/datasets/                                      401   403   403   403   403   403   403   201
  GET    /api/datasets/{dataset}/imports/                    401   404   200   200   200   200   404   200
  POST   /api/datasets/{dataset}/imports/                    401   404   403   403   403   202   404   202
  POST   /api/datasets/{dataset}/imports/ [labeled]          401   404   403   403   403   202   404   202
  GET    /api/imports/{import}/                              401   404   200   200   200   200   404   200
# --- jobs; [can_create]: everyone holds labeling.add_labelingjob, the dataset is the job's
  GET    /api/jobs/                                          401   200   200   200   200   200   200   200
  POST   /api/jobs/                                          401   403   403   403   403   403   403   201
  POST   /api/jobs/ [can_create]                             401   400   400   400   400   201   400   201
  GET    /api/jobs/{job}/                                    401   404   200   200   200   200   404   200
  PATCH  /api/jobs/{job}/                                    401   404   403   403   403   200   404   200
  POST   /api/jobs/{job}/sync/                               401   404   403   403   403   200   404   200
  GET    /api/jobs/{job}/members/                            401   404   200   200   200   200   404   200
  POST   /api/jobs/{job}/members/                            401   404   403   403   403   201   404   201
  DELETE /api/jobs/{job}/members/{member}/                   401   404   403   403   403   204   404   204
  GET    /api/jobs/{job}/label-classes/                      401   404   200   200   200   200   404   200
  POST   /api/jobs/{job}/label-classes/                      401   404   403   403   403   201   404   201
  GET    /api/jobs/{job}/label-classes/{label_class}/        401   404   200   200   200   200   404   200
  PATCH  /api/jobs/{job}/label-classes/{label_class}/        401   404   403   403   403   200   404   200
  DELETE /api/jobs/{job}/label-classes/{label_class}/        401   404   403   403   403   204   404   204
  GET    /api/jobs/{job}/items/                              401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/deletions/                          401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/export/?format=coco                 401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/export/?format=coco [queued]        401   404   202   202   202   202   404   202
  GET    /api/exports/{export}/                              401   404   200   200   200   200   404   200
  GET    /api/exports/{export}/download/                     401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/activity/                           401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/integrity/                          401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/log/                                401   404   200   200   200   200   404   200
# --- items
  POST   /api/items/delete/                                  401   404   403   403   403   200   404   200
  GET    /api/items/{item}/state/                            401   404   200   200   200   200   404   200
  GET    /api/items/{item}/overlay.svg                       401   404   200   200   200   200   404   200
  GET    /api/items/{item}/preview.jpg                       401   404   200   200   200   200   404   200
  GET    /api/items/{item}/events/                           401   404   200   200   200   200   404   200
  POST   /api/items/{item}/commands/                         401   404   403   403   201   201   404   201
  POST   /api/items/{item}/commands/ [issue]                 401   404   403   201   201   201   404   201
  POST   /api/items/{item}/commands/ [accept]                401   404   403   201   403   201   404   201
  GET    /api/items/{item}/timeline/                         401   404   200   200   200   200   404   200
  GET    /api/items/{item}/diff/?from_seq=0&to_seq=1         401   404   200   200   200   200   404   200
  GET    /api/items/{item}/integrity/                        401   404   200   200   200   200   404   200
  GET    /api/items/{item}/log/                              401   404   200   200   200   200   404   200
# --- assist (docs/assist.md): proposals for those who draw; they write nothing
  POST   /api/items/{item}/assist/scissors/                  401   404   403   403   200   200   404   200
  POST   /api/items/{item}/assist/box/                       401   404   403   403   200   200   404   200
  POST   /api/items/{item}/assist/box/prepare/               401   404   403   403   202   202   404   202
  POST   /api/items/{item}/assist/wand/                      401   404   403   403   200   200   404   200
  POST   /api/items/{item}/assist/model/                     401   404   403   403   200   200   404   200
# --- assignments (docs/review.md): managers assign, every member reads the record, those who label ask
# for the next image to label and those who review for the next to review (an auditor does neither;
# an annotator asking for review work, or a reviewer for label work, 403); every member may ask who else is
# on which images (presence: the Delete dialog's warning)
  POST   /api/jobs/{job}/assignments/                        401   404   403   403   403   200   404   200
  POST   /api/jobs/{job}/assignments/split/                  401   404   403   403   403   200   404   200
  GET    /api/jobs/{job}/assignments/history/                401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/next/?for=label                     401   404   403   403   200   200   404   200
  GET    /api/jobs/{job}/next/?for=review                    401   404   403   200   403   200   404   200
  GET    /api/jobs/{job}/presence/?item_ids={item}           401   404   200   200   200   200   404   200
# --- quality (docs/review.md): every member reads the figures and the events behind them
  GET    /api/jobs/{job}/quality/                            401   404   200   200   200   200   404   200
  GET    /api/jobs/{job}/quality/events/?figure=events       401   404   200   200   200   200   404   200
# ground truth: every member reads the report; managers mark accepted images and offer copies
  GET    /api/jobs/{job}/ground-truth/                       401   404   200   200   200   200   404   200
  POST   /api/jobs/{job}/ground-truth/                       401   404   403   403   403   200   404   200
  POST   /api/jobs/{job}/ground-truth/copies/                401   404   403   403   403   201   404   201
# --- ids do not cross jobs: the other job's URLs (oman's, and staff's) with this job's objects
  GET    /api/jobs/{other_job}/label-classes/{label_class}/  401   404   404   404   404   404   404   404
  PATCH  /api/jobs/{other_job}/label-classes/{label_class}/  401   404   404   404   404   404   404   404
  DELETE /api/jobs/{other_job}/members/{member}/             401   404   404   404   404   404   404   404
  POST   /api/datasets/{other_dataset}/imports/ [labeled]    401   404   404   404   404   404   400   400
# --- pages (302: to the login page)
  GET    /                                                   200   200   200   200   200   200   200   200
  GET    /jobs/{job}/                                        302   404   200   200   200   200   404   200
  GET    /jobs/{job}/quality/                                302   404   200   200   200   200   404   200
  GET    /items/{item}/                                      302   404   200   200   200   200   404   200
  GET    /items/{item}/replay/                               302   404   200   200   200   200   404   200
  GET    /favicon.ico                                        301   301   301   301   301   301   301   301
  GET    /accounts/login/                                    200   200   200   200   200   200   200   200
  POST   /accounts/login/                                    200   302   302   302   302   302   302   302
  PUT    /accounts/login/                                    200   200   200   200   200   200   200   200
  POST   /accounts/logout/                                   302   302   302   302   302   302   302   302
# --- files
  GET    /media/{image_file}                                 302   404   200   200   200   200   404   200
  GET    /media/{thumbnail}                                  302   404   200   200   200   200   404   200
# --- Django admin (302: to the admin login)
  GET    /admin/                                             302   302   302   302   302   302   302   200
  GET    /admin/labeling/labelingjob/                        302   302   302   302   302   302   302   403
# --- websockets
  WS     /ws/items/{item}/                                   4401  4404  open  open  open  open  4404  open
  WS     /ws/items/{item}/ [command]                         4401  4404  rejected rejected ack ack   4404  ack
  WS     /ws/items/{item}/ [review]                          4401  4404  rejected ack  ack   ack   4404  ack
  WS     /ws/jobs/{job}/                                     4401  4404  open  open  open  open  4404  open
# --- revoked while open: the membership removed (staff: no longer staff); 4403 closes the open socket
  WS     /ws/items/{item}/ [revoked]                         4401  4404  4403  4403  4403  4403  4404  4403
  WS     /ws/jobs/{job}/ [revoked]                           4401  4404  4403  4403  4403  4403  4404  4403
# --- operations (docs/operations.md): the checks are public by design (load balancers call them); metrics
# answer 404 unless public or a token is set, and then only to its bearer, whatever the role's session
  GET    /healthz                                            200   200   200   200   200   200   200   200
  GET    /readyz                                             200   200   200   200   200   200   200   200
  GET    /metrics                                            404   404   404   404   404   404   404   404
  GET    /metrics [public]                                   200   200   200   200   200   200   200   200
  GET    /metrics [token]                                    401   401   401   401   401   401   401   401
  GET    /metrics [bearer]                                   200   200   200   200   200   200   200   200
"""


@dataclass(frozen=True)
class Row:
    method: str
    url: str
    variant: str
    expected: dict[str, int | str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.url}" + (f" [{self.variant}]" if self.variant else "")

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


def parse(table: str) -> list[Row]:
    rows = []
    for line in table.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        method, url, *rest = words
        variant = rest.pop(0)[1:-1] if rest[0].startswith("[") else ""
        assert len(rest) == len(ROLES), f"{line!r}: {len(rest)} cells for {len(ROLES)} roles"
        cells = [int(cell) if cell.isdigit() else cell for cell in rest]
        assert all(isinstance(c, int) or c in ("open", "ack", "rejected") for c in cells), line
        rows.append(Row(method, url, variant, dict(zip(ROLES, cells, strict=True))))
    keys = [row.key for row in rows]
    assert len(keys) == len(set(keys)), "a row is listed twice"
    return rows


ROWS = parse(TABLE)
HTTP_ROWS = [row for row in ROWS if row.method != "WS"]
WS_ROWS = [row for row in ROWS if row.method == "WS"]


def cases(rows: list[Row]) -> list[Any]:
    return [
        pytest.param(row, role, id=f"{row.method}:{row.url}{'+' + row.variant if row.variant else ''}:{role}")
        for row in rows
        for role in ROLES
    ]


# The world every test starts from -----------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]  # role -> user (None for anon)
    job: Any
    item: Any
    labels: dict[str, Any]
    newcomer: Any  # a signed-up user in no job, for adding a member
    names: dict[str, Any] = field(default_factory=dict)  # the table's placeholders


@pytest.fixture
def world(
    job: Any,
    labels: dict[str, Any],
    item: Any,
    make_user: Callable[..., Any],
    manager: Any,
    annotator: Any,
    annotator2: Any,
    auditor: Any,
    reviewer: Any,
    outsider: Any,
    staff: Any,
) -> World:
    """The fixtures' job (manager, two annotators, an auditor, a reviewer) with one polygon drawn on its cat image,
    one past import, and another job over another dataset, managed by someone who is in nothing here."""
    from apps.datasets.models import DataImport, Dataset
    from apps.labeling.domain import parse_command
    from apps.labeling.models import JobMember
    from apps.labeling.services import item_command_handle, job_create

    other_manager = make_user("olga_other_manager")
    elsewhere = Dataset.objects.create(name="Elsewhere", created_by=other_manager)  # no image needed
    other_job = job_create(name="Other job", dataset=elsewhere, created_by=other_manager)

    drawn = {"type": "add_polygon", "shape_id": new_id(), "label_class_id": labels["cat"].pk}
    drawn["points"] = square(10, 10, 10)
    item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=parse_command(drawn))
    data_import = DataImport.objects.create(
        dataset=job.dataset, actor=manager, source=DataImport.Source.UPLOAD
    )
    users = {
        "anon": None,
        "non": outsider,
        "aud": auditor,
        "rev": reviewer,
        "ann": annotator,
        "man": manager,
        "oman": other_manager,
        "staff": staff,
    }
    names = {
        "job": job.pk,
        "item": item.pk,
        "dataset": job.dataset_id,
        "other_job": other_job.pk,
        "other_dataset": elsewhere.pk,
        "import": data_import.pk,
        "label_class": labels["dog"].pk,  # used by no shape, so it may be deleted
        "member": JobMember.objects.get(job=job, user=annotator2).pk,
        "image_file": item.image.file.name,
        "thumbnail": item.image.thumbnail.name,
        "export": an_export_made(job, manager),
    }
    return World(users, job, item, labels, make_user("nina_newcomer"), names)


def an_export_made(job: Any, manager: Any) -> int:
    """A queued export of the job the queue has made: its zip stored, not yet expired."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from apps.interchange.models import Export
    from apps.tasks.models import TaskRun

    run = TaskRun.objects.create(kind="interchange.export", status=TaskRun.Status.DONE, done=3, total=3)
    name = default_storage.save(f"exports/{job.pk}/made.zip", ContentFile(b"PK\x05\x06" + bytes(18)))
    export = Export.objects.create(
        job=job,
        requested_by=manager,
        format="coco",
        run=run,
        file=name,
        size=22,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    return export.pk


# Writes: the body each one sends, and what it changes ----------------------------------------------


@dataclass(frozen=True)
class Write:
    body: Callable[[World, str], dict[str, Any]]  # the client call's keyword arguments, for a role
    changes: Callable[[World], Any] | None = None  # what an allowed write changes and a refused one must not
    prepare: Callable[[World], None] | None = None  # the row's variant of the world
    polylog: dict[str, Any] | None = None  # POLYLOG settings the row runs under
    settings: Callable[[World], dict[str, Any]] | None = None  # other settings the row runs under
    # An answer, not a write (an assist proposal): `changes` must stay as it was, for every role.
    writes_nothing: bool = False


def count(model_path: str, **filters: Any) -> Callable[[World], int]:
    def counted(world: World) -> int:
        from django.apps import apps

        model = apps.get_model(model_path)
        return model.objects.filter(**{k: v(world) if callable(v) else v for k, v in filters.items()}).count()

    return counted


def as_json(make: Callable[[World], dict[str, Any]]) -> Callable[[World, str], dict[str, Any]]:
    return lambda world, role: {"data": make(world), "format": "json"}


def own_credentials(world: World, role: str) -> dict[str, Any]:
    user = world.users[role]
    username = user.username if user is not None else "nobody"
    return {"username": username, "password": PASSWORD}


def give_everyone_a_token(world: World) -> None:
    from apps.accounts.tokens import token_create

    world.names["tokens"] = {
        role: token_create(user=user).token for role, user in world.users.items() if user is not None
    }


def own_token_header(world: World, role: str) -> dict[str, Any]:
    token = world.names["tokens"].get(role)
    return {} if token is None else {"HTTP_AUTHORIZATION": f"Token {token}"}


def put_a_folder_in_the_import_root(world: World) -> None:
    from tests.conftest import import_put

    import_put("labeled/fox_004.png", png_bytes(40, 30))


def add_an_image_to_the_dataset(world: World) -> None:
    from apps.datasets.services import image_create

    image_create(dataset=world.job.dataset, path="new/fox_004.png", content=png_bytes(40, 30))


def draw_a_disc_in_the_item_image(world: World) -> None:
    """The item's image file replaced by a picture of its size with a disc in it (and its checksum, so no
    cached decoding of the flat one is used)."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tests.assist_images import disc_pixels, png_of

    image = world.item.image
    content = png_of(disc_pixels(image.width, image.height, (image.width // 2, image.height // 2), 25)[0])
    default_storage.delete(image.file.name)
    assert default_storage.save(image.file.name, ContentFile(content)) == image.file.name
    image.checksum = hashlib.sha256(content).hexdigest()
    image.save(update_fields=["checksum"])


def grant_job_creation(world: World) -> None:
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(codename="add_labelingjob", content_type__app_label="labeling")
    for user in world.users.values():
        if user is not None:
            user.user_permissions.add(permission)


def label_class_row(world: World) -> tuple[str, str]:
    label_class = type(world.labels["dog"]).objects.get(pk=world.labels["dog"].pk)
    return label_class.name, label_class.color


def job_row(world: World) -> tuple[str, str]:
    job = type(world.job).objects.get(pk=world.job.pk)
    return job.name, job.description


def a_command(world: World) -> dict[str, Any]:
    command = {"type": "add_polygon", "shape_id": new_id(), "label_class_id": world.labels["cat"].pk}
    return {"command_id": new_id(), "command": {**command, "points": square(40, 40, 10)}}


def an_issue(world: World) -> dict[str, Any]:
    """A review command an annotator sends too: an issue pinned at a point (issue 24)."""
    command = {"type": "open_issue", "issue_id": new_id(), "x": 12.5, "y": 8.0, "text": "Check <this> edge"}
    return {"command_id": new_id(), "command": command}


def an_acceptance(world: World) -> dict[str, Any]:
    return {"command_id": new_id(), "command": {"type": "accept_review"}}


def save_the_item(world: World) -> None:
    """The drawn polygon saved: the item is labeled, so it can be accepted."""
    from apps.labeling.domain import parse_command
    from apps.labeling.services import item_command_handle

    annotator = world.users["ann"]
    item_command_handle(item_id=world.item.pk, actor_id=annotator.pk, command=parse_command({"type": "save"}))


def the_item_accepted(world: World) -> None:
    """The item's drawing saved by its annotator and accepted by the manager."""
    from apps.labeling.domain import parse_command
    from apps.labeling.services import item_command_handle

    for role, command in (("ann", {"type": "save"}), ("man", {"type": "accept_review"})):
        item_command_handle(
            item_id=world.item.pk, actor_id=world.users[role].pk, command=parse_command(command)
        )


def the_item_ground_truth(world: World) -> None:
    """The item accepted and marked as ground truth."""
    from apps.review.quality_models import GroundTruth

    the_item_accepted(world)
    world.item.refresh_from_db()
    GroundTruth.objects.create(item=world.item, job=world.job, seq=world.item.saved_seq)


def second_annotator(world: World) -> int:
    """The user id of the job's second annotator (the member `{member}` names)."""
    from apps.labeling.models import JobMember

    return JobMember.objects.get(pk=world.names["member"]).user_id


JOB = lambda world: world.job  # noqa: E731
METRICS_TOKEN = "matrix-metrics-token"

WRITES: dict[str, Write] = {
    "POST /api/auth/token/": Write(
        lambda world, role: {"data": own_credentials(world, role), "format": "json"},
        count("knox.AuthToken"),
    ),
    # Revokes the token it is sent with (made for each role beforehand; anonymous sends none).
    "DELETE /api/auth/token/": Write(own_token_header, count("knox.AuthToken"), give_everyone_a_token),
    "POST /api/datasets/": Write(as_json(lambda world: {"name": "Birds"}), count("datasets.Dataset")),
    "POST /api/datasets/{dataset}/imports/": Write(
        lambda world, role: {
            "data": {"files": [SimpleUploadedFile("fox_004.png", png_bytes(40, 30), "image/png")]},
            "format": "multipart",
        },
        count("datasets.DataImport"),
    ),
    "POST /api/datasets/{dataset}/imports/ [labeled]": Write(
        as_json(lambda world: {"path": "labeled", "format": "coco", "job": world.job.pk}),
        count("datasets.DataImport"),
        put_a_folder_in_the_import_root,
    ),
    "POST /api/datasets/{other_dataset}/imports/ [labeled]": Write(
        as_json(lambda world: {"path": "labeled", "format": "coco", "job": world.job.pk}),
        count("datasets.DataImport"),
        put_a_folder_in_the_import_root,
    ),
    "POST /api/jobs/": Write(
        as_json(lambda world: {"name": "Second pass", "dataset": world.job.dataset_id}),
        count("labeling.LabelingJob"),
    ),
    "POST /api/jobs/ [can_create]": Write(
        as_json(lambda world: {"name": "Second pass", "dataset": world.job.dataset_id}),
        count("labeling.LabelingJob"),
        grant_job_creation,
    ),
    "PATCH /api/jobs/{job}/": Write(as_json(lambda world: {"name": "Renamed"}), job_row),
    "POST /api/jobs/{job}/sync/": Write(
        lambda world, role: {}, count("labeling.Item", job=JOB), add_an_image_to_the_dataset
    ),
    "POST /api/jobs/{job}/members/": Write(
        as_json(lambda world: {"username": world.newcomer.username, "role": "annotator"}),
        count("labeling.JobMember", job=JOB),
    ),
    "DELETE /api/jobs/{job}/members/{member}/": Write(
        lambda world, role: {}, count("labeling.JobMember", job=JOB)
    ),
    "POST /api/jobs/{job}/label-classes/": Write(
        as_json(lambda world: {"name": "bird", "color": "#0000ff"}), count("labeling.LabelClass", job=JOB)
    ),
    "PATCH /api/jobs/{job}/label-classes/{label_class}/": Write(
        as_json(lambda world: {"color": "#123456"}), label_class_row
    ),
    "PATCH /api/jobs/{other_job}/label-classes/{label_class}/": Write(
        as_json(lambda world: {"color": "#123456"}), label_class_row
    ),
    "DELETE /api/jobs/{other_job}/members/{member}/": Write(
        lambda world, role: {}, count("labeling.JobMember", job=JOB)
    ),
    "DELETE /api/jobs/{job}/label-classes/{label_class}/": Write(
        lambda world, role: {}, count("labeling.LabelClass", job=JOB)
    ),
    "POST /api/items/delete/": Write(
        as_json(lambda world: {"item_ids": [world.item.pk]}),
        count("labeling.Item", job=JOB, deleted_at__isnull=True),
    ),
    "POST /api/items/{item}/commands/": Write(as_json(a_command), count("labeling.StoredEvent")),
    "POST /api/items/{item}/commands/ [issue]": Write(as_json(an_issue), count("labeling.StoredEvent")),
    "POST /api/items/{item}/commands/ [accept]": Write(
        as_json(an_acceptance), count("labeling.StoredEvent"), save_the_item
    ),
    # The OpenCV tools, on the item's picture with a disc drawn in it (the fixtures' images are flat).
    "POST /api/items/{item}/assist/scissors/": Write(
        as_json(lambda world: {"anchors": [[10, 10], [60, 10]], "pointer": [40, 60], "close": True}),
        count("labeling.StoredEvent"),
        draw_a_disc_in_the_item_image,
        writes_nothing=True,
    ),
    "POST /api/items/{item}/assist/box/": Write(
        as_json(lambda world: {"box": [20, 10, 80, 70]}),
        count("labeling.StoredEvent"),
        draw_a_disc_in_the_item_image,
        writes_nothing=True,
    ),
    # The box's regions made ahead in the background (apps/assist/warm.py).
    "POST /api/items/{item}/assist/box/prepare/": Write(
        as_json(lambda world: {}),
        count("labeling.StoredEvent"),
        writes_nothing=True,
    ),
    "POST /api/items/{item}/assist/wand/": Write(
        as_json(lambda world: {"point": [50, 40]}),
        count("labeling.StoredEvent"),
        draw_a_disc_in_the_item_image,
        writes_nothing=True,
    ),
    # Asks a fake model server on loopback (tests/assist_model_servers.py) for the box's polygon.
    "POST /api/items/{item}/assist/model/": Write(
        as_json(lambda world: {"box": [10, 10, 50, 40]}),
        count("labeling.StoredEvent"),
        settings=lambda world: {"POLYLOG_ASSIST_MODEL_URL": shared_fake_model().url},
        writes_nothing=True,
    ),
    # Assignments: the label seat of the cat image, or the unlabeled split, goes to the second annotator.
    "POST /api/jobs/{job}/assignments/": Write(
        as_json(lambda world: {"item_ids": [world.item.pk], "annotator": second_annotator(world)}),
        count("review.AssignmentChange"),
    ),
    # The item saved, so that it waits for review (else "next" answers 404 nothing_to_do to those allowed).
    "GET /api/jobs/{job}/next/?for=review": Write(lambda world, role: {}, prepare=save_the_item),
    # The item saved and accepted first (only accepted images become ground truth), and for a copy marked.
    "POST /api/jobs/{job}/ground-truth/": Write(
        as_json(lambda world: {"item_ids": [world.item.pk]}),
        count("review.GroundTruth"),
        the_item_accepted,
    ),
    "POST /api/jobs/{job}/ground-truth/copies/": Write(
        as_json(lambda world: {"item_id": world.item.pk, "annotator": second_annotator(world)}),
        count("review.GroundTruthCopy"),
        the_item_ground_truth,
    ),
    "POST /api/jobs/{job}/assignments/split/": Write(
        as_json(lambda world: {"annotators": [second_annotator(world)]}), count("review.AssignmentChange")
    ),
    # An export of as many items as the job has or more goes to the queue: it records an export.
    "GET /api/jobs/{job}/export/?format=coco [queued]": Write(
        lambda world, role: {}, count("interchange.Export"), polylog={"EXPORT_QUEUE_ITEMS": 1}
    ),
    # Pages: signing in and out change sessions only.
    "POST /accounts/login/": Write(
        lambda world, role: {"data": own_credentials(world, role), "format": "multipart"}
    ),
    "PUT /accounts/login/": Write(lambda world, role: {}),
    "POST /accounts/logout/": Write(lambda world, role: {}),
    # The socket sends its own frame (test_websocket_command); this says what it changes.
    "WS /ws/items/{item}/ [command]": Write(lambda world, role: {}, count("labeling.StoredEvent")),
    "WS /ws/items/{item}/ [review]": Write(lambda world, role: {}, count("labeling.StoredEvent")),
    # Not a write: the role's access is taken away while its socket is open (test_websocket_revoked).
    "WS /ws/items/{item}/ [revoked]": Write(lambda world, role: {}),
    "WS /ws/jobs/{job}/ [revoked]": Write(lambda world, role: {}),
    # Not writes: /metrics opened to anyone, or wanting a token, sent by none or by each role.
    "GET /metrics [public]": Write(lambda world, role: {}, polylog={"METRICS_PUBLIC": True}),
    "GET /metrics [token]": Write(lambda world, role: {}, polylog={"METRICS_TOKEN": METRICS_TOKEN}),
    "GET /metrics [bearer]": Write(
        lambda world, role: {"HTTP_AUTHORIZATION": f"Bearer {METRICS_TOKEN}"},
        polylog={"METRICS_TOKEN": METRICS_TOKEN},
    ),
}

# What an API refusal says, besides its status (docs/api.md, Errors).
REFUSAL_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


@pytest.fixture(autouse=True)
def _sessions_in_cookies(settings: Any) -> None:
    """Sessions in signed cookies rather than the database: signing in as each role is then cheap, and who
    is signed in is read the same way."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture(scope="module")
def client() -> APIClient:
    """One client for every request: each new one loads the middleware again (WhiteNoise scans the static
    files when it does)."""
    return APIClient()


def sign_in(client: APIClient, user: Any) -> APIClient:
    """The user's session, as a browser has it (it serves the API too); None signs out."""
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def content_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # the test client closes it at the end
    return response.content


# The matrix ---------------------------------------------------------------------------------------


def absent(row: Row, world: World) -> tuple[str, Any, Any] | None:
    """The row's last placeholder, its value, and a value that names nothing (None: no placeholder)."""
    names = re.findall(r"\{(\w+)\}", row.url)
    if not names:
        return None
    value = world.names[names[-1]]
    return names[-1], value, "datasets/0/nothing.png" if isinstance(value, str) else value + 1_000_000


def unnamed(text: str, *values: Any) -> str:
    """An answer with the ids it was asked about blanked out, to compare it with another's; and the page's
    CSRF token (the styled 404 is a page with the Log out form, whose token is masked anew each time)."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', text)
    for value in values:
        text = re.sub(rf"\b{re.escape(str(value))}\b", "<id>", text)
    return text


def answer(client: APIClient, row: Row, role: str, world: World) -> tuple[int, list[str]]:
    """Send the row's request as `role`; its status, and what was wrong besides the status.

    A 404 is compared with the answer for an object that does not exist: ids must reveal nothing.
    """
    write = WRITES.get(row.key)
    before = write.changes(world) if write is not None and write.changes is not None else None
    request = getattr(sign_in(client, world.users[role]), row.method.lower())
    kwargs = write.body(world, role) if write is not None else {}

    response = request(row.url.format(**world.names), **kwargs)
    text = content_of(response).decode(errors="replace")

    status, problems = response.status_code, []
    if row.path.startswith("/api/") and status >= 400:
        body = response.json()
        if not set(body) >= {"code", "message"} or body["code"] != REFUSAL_CODES.get(status, body["code"]):
            problems.append(f"{role}: refused with {body}")
    if status == 302 and row.method == "GET" and "login" not in response["Location"]:
        problems.append(f"{role}: sent to {response['Location']}, not to a login page")
    if status == 404 and (missing := absent(row, world)) is not None:
        name, value, nothing = missing
        kwargs = write.body(world, role) if write is not None else {}
        twin = request(row.url.format(**{**world.names, name: nothing}), **kwargs)
        twin_text = content_of(twin).decode(errors="replace")
        if (status, unnamed(text, value, nothing)) != (twin.status_code, unnamed(twin_text, value, nothing)):
            problems.append(f"{role}: a {name} that exists is told apart: {text!r} / {twin_text!r}")
    if write is not None and write.changes is not None:
        after = write.changes(world)
        if 200 <= status < 300 and after == before and not write.writes_nothing:
            problems.append(f"{role}: answered {status} but changed nothing ({text[:200]!r})")
        if 200 <= status < 300 and after != before and write.writes_nothing:
            problems.append(f"{role}: answered {status} and changed {before} to {after}")
        if not 200 <= status < 300 and after != before:
            problems.append(f"{role}: refused with {status} but changed {before} to {after}")
    return status, problems


@pytest.mark.django_db
@pytest.mark.parametrize("row", [pytest.param(row, id=row.key) for row in HTTP_ROWS])
def test_http(client: APIClient, row: Row, world: World, settings: Any) -> None:
    """Each role's request runs in a savepoint that is rolled back: every role meets the same world."""
    write = WRITES.get(row.key)
    if write is not None and write.prepare is not None:
        write.prepare(world)
    if write is not None and write.polylog is not None:
        settings.POLYLOG = {**settings.POLYLOG, **write.polylog}
    if write is not None and write.settings is not None:
        for name, value in write.settings(world).items():
            setattr(settings, name, value)
    answers, problems = {}, []
    for role in ROLES:
        with transaction.atomic():
            answers[role], wrong = answer(client, row, role, world)
            problems += wrong
            transaction.set_rollback(True)
        state_cache.clear()  # it may hold a state the rollback took back

    assert answers == row.expected
    assert problems == []


@pytest_asyncio.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


async def connect(sockets: Sockets, path: str, user: Any) -> Peer | int:
    """The user's socket (by token), or the close code of its refused handshake."""
    query = "" if user is None else f"?token={await token_for(user)}"
    socket = WebsocketCommunicator(application, path + query)
    connected, code = await socket.connect(timeout=WAIT)
    if not connected:
        await socket.disconnect(timeout=STOP)
        return code
    peer = Peer(socket, user)
    sockets.opened.append(peer)
    return peer


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("row", [pytest.param(row, id=row.key) for row in WS_ROWS if not row.variant])
async def test_websocket_handshake(row: Row, world: World, sockets: Sockets) -> None:
    """A handshake changes nothing, so the roles take turns on one world. A refusal as a non-member must be
    the refusal of an id that does not exist."""
    name, _, nothing = absent(row, world) or ("", None, None)
    answers, for_nothing = {}, {}
    for role in ROLES:
        opened = await connect(sockets, row.url.format(**world.names), world.users[role])
        answers[role] = "open" if isinstance(opened, Peer) else opened
        if answers[role] == 4404:
            missing = await connect(
                sockets, row.url.format(**{**world.names, name: nothing}), world.users[role]
            )
            for_nothing[role] = missing if isinstance(missing, int) else "open"

    assert answers == row.expected
    assert for_nothing == {role: 4404 for role, code in answers.items() if code == 4404}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("row", "role"), cases([row for row in WS_ROWS if row.variant in ("command", "review")])
)
async def test_websocket_command(row: Row, role: str, world: World, sockets: Sockets) -> None:
    """[command] sends a shape command (a polygon), [review] a review command (an issue pinned)."""
    expected = row.expected[role]
    opened = await connect(sockets, row.url.format(**world.names), world.users[role])
    if not isinstance(opened, Peer):
        assert opened == expected
        return
    changes = WRITES[row.key].changes
    assert changes is not None
    events = database_sync_to_async(changes)
    before = await events(world)

    if row.variant == "review":
        command = an_issue(world)["command"]
    else:
        command = polygon(new_id(), world.labels["cat"].pk, square(40, 40, 10))
    answer = await opened.command(command, "matrix-1")

    assert answer["type"] == ("ack" if expected == "ack" else "rejected"), answer
    if expected == "ack":
        assert await events(world) == before + 1
    else:
        assert answer["code"] == "permission_denied"
        assert await events(world) == before


def revoke_access(world: World, role: str) -> None:
    """Take the role's access to the job away, as a manager or an admin would (signals and all)."""
    user = world.users[role]
    if user.is_staff:
        user.is_staff = False
        user.save()
    else:
        world.job.memberships.filter(user=user).delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(("row", "role"), cases([row for row in WS_ROWS if row.variant == "revoked"]))
async def test_websocket_revoked(row: Row, role: str, world: World, sockets: Sockets) -> None:
    opened = await connect(sockets, row.url.format(**world.names), world.users[role])
    if not isinstance(opened, Peer):
        assert opened == row.expected[role]
        return

    await database_sync_to_async(revoke_access)(world, role)

    assert await opened.close_code() == row.expected[role]


# Lists answer 200 to everyone signed in: what they hold is the authorization ----------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES[1:])
def test_lists_hold_only_what_the_role_may_see(client: APIClient, role: str, world: World) -> None:
    from apps.labeling.models import LabelingJob

    sign_in(client, world.users[role])
    other_job = LabelingJob.objects.exclude(pk=world.job.pk).get()
    sees_job = role in ("aud", "rev", "ann", "man", "staff")
    sees_other = role in ("oman", "staff")
    expected_jobs = {job.pk for job, seen in ((world.job, sees_job), (other_job, sees_other)) if seen}
    expected_datasets = {
        dataset.pk
        for dataset, seen in ((world.job.dataset, sees_job), (other_job.dataset, sees_other))
        if seen
    }

    jobs = {job["id"] for job in client.get("/api/jobs/").json()}
    datasets = {dataset["id"] for dataset in client.get("/api/datasets/").json()}

    assert jobs == expected_jobs
    assert datasets == expected_datasets


@pytest.mark.django_db
def test_options_answer_from_the_view_alone_so_they_reveal_nothing(client: APIClient, world: World) -> None:
    """Why OPTIONS has no rows: a job that exists and one that does not look the same to a non-member."""
    url = "/api/jobs/{}/label-classes/"
    missing = world.job.pk + 1000

    anonymous = sign_in(client, None).options(url.format(world.job.pk)).status_code
    sign_in(client, world.users["non"])
    existing, unknown = (client.options(url.format(job)) for job in (world.job.pk, missing))

    assert anonymous == 401
    assert (existing.status_code, existing.json()) == (unknown.status_code, unknown.json())


# Completeness: a new route or method without a row fails here -------------------------------------

# A value for every placeholder, so a row's URL can be resolved without a world.
SAMPLE = {
    "job": 1,
    "other_job": 2,
    "other_dataset": 2,
    "item": 1,
    "dataset": 1,
    "import": 1,
    "label_class": 1,
    "member": 1,
    "export": 1,
    "image_file": "datasets/1/a.png",
    "thumbnail": "thumbnails/1/a.jpg",
}
IGNORED_METHODS = {"options", "head"}  # see the module docstring


def join_route(prefix: str, route: str) -> str:
    """As Django joins the routes of nested patterns in ResolverMatch.route."""
    return prefix + route.removeprefix("^") if prefix else route


def view_methods(callback: Any) -> set[str]:
    view_class = getattr(callback, "view_class", None)
    if view_class is None:
        return {"GET"}
    return {
        method.upper()
        for method in view_class.http_method_names
        if method not in IGNORED_METHODS and hasattr(view_class, method)
    }


def routes(patterns: list[Any], prefix: str = "") -> dict[str, set[str]]:
    """Every route of the URLconf (Django admin's as one, "admin/") with the methods its view answers."""
    found: dict[str, set[str]] = {}
    for pattern in patterns:
        route = join_route(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                found[route] = {"GET"}
            else:
                found.update(routes(pattern.url_patterns, route))
        elif isinstance(pattern, URLPattern):
            found[route] = view_methods(pattern.callback)
    return found


def covered_routes() -> dict[str, set[str]]:
    covered: dict[str, set[str]] = {}
    for row in HTTP_ROWS:
        match = resolve(urlsplit(row.url.format(**SAMPLE)).path)
        route = "admin/" if match.namespace == "admin" else match.route
        covered.setdefault(route, set()).add(row.method)
    return covered


def test_every_route_has_a_row() -> None:
    assert set(routes(get_resolver().url_patterns)) - set(covered_routes()) == set()


def test_every_method_of_every_view_has_a_row() -> None:
    covered = covered_routes()

    missing = {
        route: methods - covered.get(route, set())
        for route, methods in routes(get_resolver().url_patterns).items()
        if methods - covered.get(route, set())
    }

    assert missing == {}


def test_every_websocket_route_and_frame_that_writes_has_a_row() -> None:
    from apps.labeling.routing import websocket_urlpatterns

    needed = set()
    for pattern in websocket_urlpatterns:
        consumer = pattern.callback.consumer_class
        needed.add((str(pattern.pattern), ""))
        if hasattr(consumer, "on_command"):
            needed.add((str(pattern.pattern), "command"))
    covered = set()
    for row in WS_ROWS:
        path = row.url.format(**SAMPLE).lstrip("/")
        for pattern in websocket_urlpatterns:
            if pattern.resolve(path) is not None:
                covered.add((str(pattern.pattern), row.variant))

    assert needed - covered == set()


def test_every_write_row_says_what_it_sends_and_api_writes_what_they_change() -> None:
    writes = [row for row in ROWS if row.method not in ("GET", "WS") or row.variant]

    assert [row.key for row in writes if row.key not in WRITES] == []
    assert [
        row.key for row in writes if row.path.startswith("/api/") and WRITES[row.key].changes is None
    ] == []
    assert set(WRITES) <= {row.key for row in ROWS}
