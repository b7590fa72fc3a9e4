"""The OpenAPI document generates a working client (issue 22, point 9): openapi-python-client, as a user
would run it on /api/schema/, writes a package that imports, and that package logs in, lists jobs, sends a
typed command and reads the state against a live server, every answer parsed into its typed model.

The server runs on SQLite in a temporary folder whatever DATABASE_URL says (what is tested is the schema
and the generator, not the database): the test runs in the SQLite pass only.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_servers import ROOT, daphne_start, manage, photos_write, server_env, wait_until_serving

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="runs in the SQLite pass (its server is on SQLite whatever the pass; the schema is what is tested)",
)

BIN = Path(sys.executable).parent
PACKAGE = "polylog_api_client"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: Any) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp("generated-client-var")
    env = server_env(var_dir)
    env.pop("DEBUG", None)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--photos", str(photos_write(var_dir / "photos", 2)), "-v0")
    daphne = daphne_start(env, var_dir / "logs", "api")
    try:
        wait_until_serving([daphne], timeout=60)
        yield daphne.base_url
    finally:
        daphne.stop()


@pytest.fixture(scope="module")
def client_package(server: str, tmp_path_factory: Any) -> Iterator[Any]:
    """The client generated from the live server's /api/schema/, imported."""
    folder = tmp_path_factory.mktemp("generated-client")
    with _DIRECT.open(f"{server}/api/schema/?format=json", timeout=30) as response:
        (folder / "schema.json").write_bytes(response.read())
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }  # it runs ruff on its output
    done = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", "schema.json", "--output-path", "client"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sys.path.insert(0, str(folder / "client"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder / "client"))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_module_of_the_generated_client_imports(client_package: Any) -> None:
    import pkgutil

    failed = {}
    for module in pkgutil.walk_packages(client_package.__path__, PACKAGE + "."):
        try:
            importlib.import_module(module.name)
        except Exception as error:  # noqa: BLE001 - any import error is the finding
            failed[module.name] = f"{type(error).__name__}: {error}"

    assert failed == {}


def test_the_generated_client_logs_in_lists_jobs_sends_a_typed_command_and_reads_the_state(
    client_package: Any, server: str
) -> None:
    models = _module("models")
    login = _module("api.auth.auth_token_create")
    jobs_list = _module("api.jobs.jobs_list")
    label_classes = _module("api.jobs.jobs_label_classes_list")
    items_list = _module("api.jobs.jobs_items_retrieve")
    commands = _module("api.items.items_commands_create")
    state_read = _module("api.items.items_state_retrieve")
    events_read = _module("api.items.items_events_retrieve")

    anonymous = client_package.Client(base_url=server, raise_on_unexpected_status=True)
    token = login.sync(client=anonymous, body=models.LoginRequest(username="demo", password="demo-polylog"))
    assert isinstance(token, models.TokenResponse)
    client = client_package.AuthenticatedClient(
        base_url=server, token=token.token, prefix="Token", raise_on_unexpected_status=True
    )

    jobs = jobs_list.sync(client=client)
    assert [type(job) for job in jobs] == [models.Job]
    job = jobs[0]
    label = label_classes.sync(job.id, client=client)[0]
    item = items_list.sync(job.id, client=client).results[0]

    shape_id = uuid.uuid4()
    command = models.AddPolygonCommand(
        type_=models.AddPolygonCommandTypeEnum.ADD_POLYGON,
        shape_id=shape_id,
        label_class_id=label.id,
        points=[[10.0, 10.0], [60.0, 10.0], [35.0, 50.0]],
    )
    result = commands.sync(
        item.id, client=client, body=models.CommandRequest(command_id="gen-1", command=command)
    )

    assert isinstance(result, models.CommandResult)
    (event,) = result.events
    assert isinstance(event, models.PolygonAddedEvent)
    assert (event.payload.shape_id, event.payload.label_class_id) == (shape_id, label.id)
    assert event.payload.points == [[10.0, 10.0], [60.0, 10.0], [35.0, 50.0]]

    state = state_read.sync(item.id, client=client)
    assert isinstance(state, models.ItemState)
    assert state.seq == result.seq
    assert [(s.id, s.label_class_id, s.points) for s in state.shapes] == [
        (str(shape_id), label.id, [[10.0, 10.0], [60.0, 10.0], [35.0, 50.0]])
    ]

    # A command without fields, and the events read back, each typed by its own model.
    saved = commands.sync(
        item.id,
        client=client,
        body=models.CommandRequest(
            command_id="gen-2", command=models.SaveCommand(type_=models.SaveCommandTypeEnum.SAVE)
        ),
    )
    page = events_read.sync(item.id, client=client)
    assert [type(e) for e in page.results] == [models.PolygonAddedEvent, models.SavedEvent]
    assert page.last_seq == saved.seq


def test_a_refused_command_comes_back_as_the_error_model(client_package: Any, server: str) -> None:
    models = _module("models")
    login = _module("api.auth.auth_token_create")
    jobs_list = _module("api.jobs.jobs_list")
    items_list = _module("api.jobs.jobs_items_retrieve")
    commands = _module("api.items.items_commands_create")
    anonymous = client_package.Client(base_url=server)
    token = login.sync(client=anonymous, body=models.LoginRequest(username="demo", password="demo-polylog"))
    client = client_package.AuthenticatedClient(base_url=server, token=token.token, prefix="Token")
    item = items_list.sync(jobs_list.sync(client=client)[0].id, client=client).results[0]
    command = models.DeleteLabelShapesCommand(
        type_=models.DeleteLabelShapesCommandTypeEnum.DELETE_LABEL_SHAPES, label_class_id=999_999
    )

    response = commands.sync_detailed(
        item.id, client=client, body=models.CommandRequest(command_id="gen-3", command=command)
    )

    assert response.status_code == 422
    assert isinstance(response.parsed, models.Error)
    assert response.parsed.code == "unknown_label_class"


def test_the_example_of_docs_api_md_runs_as_written(client_package: Any, server: str) -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    section = text[text.index("## The schema and generated clients") :]
    example = section[section.index("```python\n") + len("```python\n") :]
    example = example[: example.index("```")]
    assert 'base = "http://localhost:8000"' in example

    exec(compile(example.replace("http://localhost:8000", server), "docs/api.md", "exec"), {})  # noqa: S102
