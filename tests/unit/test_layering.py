"""Imports between the apps point one way (DESIGN.md section 2):
`common <- accounts <- datasets <- labeling <- (interchange, ...)`; the Python client (apps/client/, a plain
package, not a Django app) imports nothing of the server but the pure domain.

Every module under apps/ is read with ast, not imported, so an import inside a function or under
TYPE_CHECKING counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The layer of each app: an app may import from the apps of lower layers only. Apps that build on labeling
# (interchange, and later assist and review) share its upper layer and so never import each other.
# The web front end (frontend/) and config/ sit above every app and may import any of them.
LAYERS = {"common": 0, "accounts": 1, "datasets": 2, "labeling": 3, "interchange": 4}

# Plain packages under apps/ that are not Django apps, and the only modules of apps/ each may import (with
# what is under them). No app imports them. The client runs where the server does not (a script, a test,
# another machine): it folds events with the domain, which is pure Python, and imports nothing else of ours.
PLAIN_PACKAGES = {"client": ("apps.labeling.domain",)}
# What else the client may import: the standard library and the websocket package it speaks with.
CLIENT_LIBRARIES = {"websockets"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of everything the module imports, relative imports resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in sorted(ast.walk(tree), key=lambda node: getattr(node, "lineno", 0)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                above = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*above, *([node.module] if node.module else [])])
            # `from apps import labeling` names the app in what it imports.
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base == "apps" else base


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


def client_imports_outside_its_libraries(root: Path = REPO_ROOT) -> list[str]:
    """Every import of apps/client/ that is neither ours (apps.*, held by the walker above), the standard
    library, nor one of CLIENT_LIBRARIES: Django, DRF, Channels and the rest are the server's."""
    found = []
    for path in sorted((root / "apps" / "client").rglob("*.py")):
        for line, name in imported_names(path, root):
            top = name.partition(".")[0]
            if top not in ("apps", "__future__") and top not in sys.stdlib_module_names | CLIENT_LIBRARIES:
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


def test_the_client_imports_of_the_server_only_the_domain_and_no_django() -> None:
    assert (REPO_ROOT / "apps" / "client" / "websocket.py").exists()
    assert client_imports_outside_its_libraries() == []


def test_an_import_of_the_server_by_the_client_or_of_the_client_by_the_server_is_found(
    tmp_path: Path,
) -> None:
    for folder in ("apps", "apps/client", "apps/labeling", "apps/labeling/domain"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "apps" / "client" / "websocket.py").write_text(
        "import json\n"
        "import websockets\n"
        "from apps.labeling.domain import evolve\n"
        "from apps.labeling.domain.state import ItemState\n"
        "from apps.labeling.models import Item\n"
        "from ..labeling import services\n"
        "from django.conf import settings\n"
        "from rest_framework import serializers\n"
    )
    (tmp_path / "apps" / "labeling" / "views.py").write_text("from apps.client import LabelingClient\n")

    assert arrows_against_the_layers(tmp_path) == [
        "apps.client.websocket:5 imports apps.labeling.models (client -> labeling)",
        "apps.client.websocket:6 imports apps.labeling (client -> labeling)",
        "apps.labeling.views:1 imports apps.client (labeling -> client)",
    ]
    assert client_imports_outside_its_libraries(tmp_path) == [
        "apps.client.websocket:7 imports django.conf",
        "apps.client.websocket:8 imports rest_framework",
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
        "apps.common.sub.helpers:1 imports apps.labeling.models (common -> labeling)",
        "apps.common.sub.helpers:2 imports apps.labeling (common -> labeling)",
        "apps.common.sub.helpers:5 imports apps.datasets.models (common -> datasets)",
        "apps.common.sub.helpers:6 imports apps.accounts (common -> accounts)",
    ]
