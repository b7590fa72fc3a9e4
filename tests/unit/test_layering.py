"""Imports point one way (DESIGN.md section 2), between the apps:
`common <- accounts <- datasets <- labeling <- (interchange, ...)`; and inside labeling:
`domain <- store <- services <- (api, consumers)` (LABELING_RULES says which arrows are held, and why). The
Python client (clients/python/polylog_client, a package of its own) imports nothing of the server, and the
server nothing of it.

Every module under apps/ is read with ast, not imported, so an import inside a function or under
TYPE_CHECKING counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The layer of each app: an app may import from the apps of lower layers only. Apps that build on labeling
# (interchange, and later assist and review) share its upper layer and so never import each other.
# ops (health checks, metrics) sits above every app, as it checks them all.
# The web front end (frontend/) and config/ sit above every app and may import any of them.
LAYERS = {
    "common": 0,
    "accounts": 1,
    "tasks": 1,
    "datasets": 2,
    "labeling": 3,
    "interchange": 4,
    "assist": 4,
    "review": 4,
    "ops": 9,
}

# Plain packages under apps/ that are not Django apps, and the only modules of apps/ each may import (with
# what is under them). No app imports them. (None now: the client is a package of its own, below.)
PLAIN_PACKAGES: dict[str, tuple[str, ...]] = {}
# The client runs where the server does not (a script, another machine: `pip install ./clients/python`), so it
# imports the standard library, its own modules and the dependencies its pyproject.toml declares, by the
# names they are imported as; none of the server's.
CLIENT_ROOT = REPO_ROOT / "clients" / "python"
CLIENT_PACKAGE = "polylog_client"
CLIENT_LIBRARIES = {"websockets", "tqdm", "PIL"}


@dataclass(frozen=True)
class Rule:
    """The modules of `modules` (and those under them) use nothing under `not_from`, except what is
    under `unless`."""

    modules: tuple[str, ...]
    not_from: tuple[str, ...]
    why: str
    unless: tuple[str, ...] = ()


# The arrows inside labeling. A module "uses" a name when it imports it or reads it off a module it imported
# (`from .. import store` then `store.commit(...)`), through a package's re-exports (`store.commit` is
# apps.labeling.store.write.commit).
LABELING_RULES = (
    Rule(
        modules=("apps.labeling.domain",),
        not_from=("django", "rest_framework", "channels", "apps"),
        unless=("apps.labeling.domain",),
        why="the domain is pure Python: decide and evolve run and are tested without a database, and the"
        " Python client folds events with them where no server runs",
    ),
    Rule(
        modules=("apps.labeling.store",),
        not_from=(
            "apps.labeling.services",
            "apps.labeling.api",
            "apps.labeling.consumers",
            "apps.labeling.live",
        ),
        why="the store writes the plan it is handed and loads states; deciding, answering and broadcasting"
        " happen above it, so none of them can change what a statement does",
    ),
    Rule(
        modules=("apps.labeling.services",),
        not_from=("apps.labeling.api", "apps.labeling.consumers"),
        why="REST and the websocket share the services; a service that knew its caller would answer the"
        " two differently",
    ),
    Rule(
        modules=("apps.labeling.api", "apps.labeling.consumers"),
        not_from=("apps.labeling.store.write",),
        why="a write goes through a service (decide, then commit the plan): a view or consumer that wrote"
        " itself would skip the rules, the read models or the broadcast; reading the store is fine",
    ),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path) -> Iterator[tuple[int, str, str]]:
    """(line, local name, absolute dotted name) of each name the module imports, relative imports resolved:
    `import a.b` binds a to a.b, `from a import b as c` binds c to a.b (a module, or a name in a)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in sorted(ast.walk(tree), key=lambda node: getattr(node, "lineno", 0)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.asname or alias.name.partition(".")[0], alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                above = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*above, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, alias.asname or alias.name, f"{base}.{alias.name}"


def imported_names(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of everything the module imports, relative imports resolved."""
    for line, _, name in _imports(path, root):
        yield line, name


def used_names(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """What the module imports, and each attribute it reads off an imported name (`store.commit`)."""
    bound = {}
    for line, local, name in _imports(path, root):
        bound[local] = name
        yield line, name
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            yield node.lineno, f"{bound[node.value.id]}.{node.attr}"


def reexports(root: Path) -> dict[str, str]:
    """`package.name` -> `package.module.name` for each name a package's __init__.py takes from its modules."""
    found = {}
    for init in (root / "apps").rglob("__init__.py"):
        package = module_name(init, root)
        for _, name in imported_names(init, root):
            if name.startswith(package + "."):
                found[f"{package}.{name.rpartition('.')[2]}"] = name
    return found


def resolved(name: str, aliases: dict[str, str]) -> str:
    """The name where it is defined: apps.labeling.store.commit is apps.labeling.store.write.commit. Only the
    last part can be a re-export: what comes before it is a module (`from a.b import c` imports a.b)."""
    for _ in range(len(aliases)):
        if aliases.get(name, name) == name:
            break
        name = aliases[name]
    return name


def app_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "apps" else None


def is_under(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def arrows_against_the_layers(root: Path = REPO_ROOT) -> list[str]:
    """Every import of an app by an app that may not import it, as `module:line imports name`."""
    found = []
    for path in sorted((root / "apps").rglob("*.py")):
        source = app_of(module_name(path, root))
        if source is None:  # apps/__init__.py
            continue
        for line, name in imported_names(path, root):
            target = app_of(name)
            if target is None or target == source:
                continue
            if source in PLAIN_PACKAGES:
                allowed = any(is_under(name, module) for module in PLAIN_PACKAGES[source])
            else:
                allowed = target in LAYERS and source in LAYERS and LAYERS[target] < LAYERS[source]
            if not allowed:
                found.append(f"{module_name(path, root)}:{line} imports {name} ({source} -> {target})")
    return found


def arrows_inside_labeling(root: Path = REPO_ROOT, rules: tuple[Rule, ...] = LABELING_RULES) -> list[str]:
    """Every use against LABELING_RULES, as `module:line uses name`."""
    aliases = reexports(root)
    found = []
    for path in sorted((root / "apps" / "labeling").rglob("*.py")):
        source = module_name(path, root)
        for rule in rules:
            if not any(is_under(source, module) for module in rule.modules):
                continue
            for line, name in sorted(set(used_names(path, root))):
                where = resolved(name, aliases)
                against = any(is_under(where, module) for module in rule.not_from)
                if against and not any(is_under(where, module) for module in rule.unless):
                    found.append(f"{source}:{line} uses {where}")
    return found


def client_imports_outside_its_libraries(root: Path = CLIENT_ROOT) -> list[str]:
    """Every import of the client package that is neither its own, the standard library, nor one of
    CLIENT_LIBRARIES: Django, DRF, Channels, apps.* and the rest are the server's."""
    found = []
    for path in sorted((root / CLIENT_PACKAGE).rglob("*.py")):
        for line, name in imported_names(path, root):
            top = name.partition(".")[0]
            if top in (CLIENT_PACKAGE, "__future__") or top in sys.stdlib_module_names | CLIENT_LIBRARIES:
                continue
            found.append(f"{module_name(path, root)}:{line} imports {name}")
    return found


def server_imports_of_the_client(root: Path = REPO_ROOT) -> list[str]:
    """Every import of the client package by the server (apps/, config/, frontend/): the server never needs
    it, and a server that did could not be deployed without it."""
    found = []
    for folder in ("apps", "config", "frontend"):
        for path in sorted((root / folder).rglob("*.py")):
            for line, name in imported_names(path, root):
                if is_under(name, CLIENT_PACKAGE):
                    found.append(f"{module_name(path, root)}:{line} imports {name}")
    return found


def test_every_installed_app_has_its_place_in_the_layers() -> None:
    from django.conf import settings

    installed = {app.split(".")[1] for app in settings.INSTALLED_APPS if app.startswith("apps.")}
    folders = {path.parent.name for path in (REPO_ROOT / "apps").glob("*/__init__.py")}
    assert installed == folders - set(PLAIN_PACKAGES) == set(LAYERS), (
        "place each app in LAYERS (and DESIGN.md)"
    )
    assert not installed & set(PLAIN_PACKAGES), "a plain package is not a Django app"


def test_no_app_imports_an_app_of_its_own_layer_or_above() -> None:
    assert arrows_against_the_layers() == []


def test_inside_labeling_no_module_uses_what_its_layer_may_not() -> None:
    found = arrows_inside_labeling()

    rules = [
        f"{', '.join(rule.modules)} use nothing of {', '.join(rule.not_from)}: {rule.why}"
        for rule in LABELING_RULES
    ]
    assert found == [], "\n".join([*found, "", *rules])


def test_a_use_against_the_arrows_inside_labeling_is_found_however_it_is_written(tmp_path: Path) -> None:
    """The rules on a small tree: imports, attributes read off an imported module, re-exports."""
    labeling = tmp_path / "apps" / "labeling"
    for folder in ("", "domain", "store", "services", "api"):
        (labeling / folder).mkdir(parents=True, exist_ok=True)
        (labeling / folder / "__init__.py").write_text("")
    (tmp_path / "apps" / "__init__.py").write_text("")
    (labeling / "store" / "__init__.py").write_text(
        "from .load import events_after\nfrom .write import commit\n"
    )
    files = {
        "domain/evolve.py": "import shapely\nfrom .state import ItemState\nfrom django.db import models\n"
        "from ..models import Item\nfrom apps.common.errors import ApiError\n",
        "store/load.py": "from ..domain import evolve\nfrom ..models import Item\nfrom .. import live\n"
        "def later():\n    from ..services.commands import handle\n",
        "store/write.py": "from .load import events_after\n",
        "services/commands.py": "from .. import store\nstore.commit(None)\nfrom ..api.views import View\n",
        "api/views.py": "from .. import services, store\nstore.events_after(1, 0)\nstore.commit(None)\n",
        "consumers.py": "from .store import commit as write\nimport apps.labeling.store.write\n",
    }
    for name, text in files.items():
        (labeling / name).write_text(text)

    assert arrows_inside_labeling(tmp_path) == [
        "apps.labeling.api.views:3 uses apps.labeling.store.write.commit",
        "apps.labeling.consumers:1 uses apps.labeling.store.write.commit",
        "apps.labeling.consumers:2 uses apps.labeling.store.write",
        "apps.labeling.domain.evolve:3 uses django.db.models",
        "apps.labeling.domain.evolve:4 uses apps.labeling.models.Item",
        "apps.labeling.domain.evolve:5 uses apps.common.errors.ApiError",
        "apps.labeling.services.commands:3 uses apps.labeling.api.views.View",
        "apps.labeling.store.load:3 uses apps.labeling.live",
        "apps.labeling.store.load:5 uses apps.labeling.services.commands.handle",
    ]


def test_the_client_package_imports_nothing_of_the_server_and_the_server_nothing_of_it() -> None:
    assert (CLIENT_ROOT / CLIENT_PACKAGE / "websocket.py").exists()
    assert client_imports_outside_its_libraries() == []
    assert server_imports_of_the_client() == []


def test_the_client_libraries_are_the_dependencies_its_pyproject_declares() -> None:
    import tomllib

    declared = tomllib.loads((CLIENT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {dependency.partition("==")[0].lower() for dependency in declared}
    imported_as = {"websockets": "websockets", "tqdm": "tqdm", "pillow": "PIL"}
    assert {imported_as[name] for name in names} == CLIENT_LIBRARIES
    assert all("==" in dependency for dependency in declared), "the client's dependencies are pinned"


def test_an_import_of_the_server_by_the_client_or_of_the_client_by_the_server_is_found(
    tmp_path: Path,
) -> None:
    client = tmp_path / "clients" / "python" / CLIENT_PACKAGE
    client.mkdir(parents=True)
    (client / "__init__.py").write_text("")
    (client / "websocket.py").write_text(
        "import json\n"
        "import websockets\n"
        "from PIL import Image\n"
        "from . import http\n"
        "from apps.labeling.domain import evolve\n"
        "from django.conf import settings\n"
        "from rest_framework import serializers\n"
    )
    for folder in ("apps", "apps/labeling", "config"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "apps" / "labeling" / "views.py").write_text("from polylog_client import LabelingClient\n")
    (tmp_path / "config" / "asgi.py").write_text("import polylog_client.http\n")

    assert client_imports_outside_its_libraries(tmp_path / "clients" / "python") == [
        "polylog_client.websocket:5 imports apps.labeling.domain.evolve",
        "polylog_client.websocket:6 imports django.conf.settings",
        "polylog_client.websocket:7 imports rest_framework.serializers",
    ]
    assert server_imports_of_the_client(tmp_path) == [
        "apps.labeling.views:1 imports polylog_client.LabelingClient",
        "config.asgi:1 imports polylog_client.http",
    ]


def test_an_import_against_the_layers_is_found_however_it_is_written(tmp_path: Path) -> None:
    """The walker itself: absolute, relative, inside a function, and `from apps import x` forms."""
    (tmp_path / "apps" / "common" / "sub").mkdir(parents=True)
    (tmp_path / "apps" / "labeling").mkdir()
    for folder in ("apps", "apps/common", "apps/common/sub", "apps/labeling"):
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "apps" / "common" / "sub" / "helpers.py").write_text(
        "from apps.labeling.models import Item\n"
        "from ...labeling import services\n"
        "from .. import errors\n"
        "def later():\n"
        "    import apps.datasets.models\n"
        "    from apps import accounts\n"
    )
    (tmp_path / "apps" / "labeling" / "views.py").write_text(
        "from apps.common.errors import ApiError\nfrom . import services\nfrom ..datasets import models\n"
    )

    assert arrows_against_the_layers(tmp_path) == [
        "apps.common.sub.helpers:1 imports apps.labeling.models.Item (common -> labeling)",
        "apps.common.sub.helpers:2 imports apps.labeling.services (common -> labeling)",
        "apps.common.sub.helpers:5 imports apps.datasets.models (common -> datasets)",
        "apps.common.sub.helpers:6 imports apps.accounts (common -> accounts)",
    ]


# A module in apps/labeling stays under about 400 lines (docs/layout.md, "Size"); migrations are generated
# and data rewrites, not code a newcomer walks. A module allowed past it is named here with the reason.
MODULE_LINES = 420
LONGER_MODULES: dict[str, str] = {}


def test_no_module_in_labeling_is_past_about_400_lines_unless_named_with_a_reason() -> None:
    labeling = REPO_ROOT / "apps" / "labeling"
    long = {
        str(path.relative_to(REPO_ROOT)): lines
        for path in labeling.rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MODULE_LINES
        and str(path.relative_to(REPO_ROOT)) not in LONGER_MODULES
    }
    assert long == {}, "split these by what they hold (docs/layout.md, 'Size'), or name them with why"
