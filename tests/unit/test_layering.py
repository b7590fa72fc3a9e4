"""Imports between the apps point one way (DESIGN.md section 2):
`common <- accounts <- datasets <- labeling <- (interchange, ...)`.

Every module under apps/ is read with ast, not imported, so an import inside a function or under
TYPE_CHECKING counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The layer of each app: an app may import from the apps of lower layers only. Apps that build on labeling
# (interchange, and later assist and review) share its upper layer and so never import each other.
# The web front end (frontend/) and config/ sit above every app and may import any of them.
LAYERS = {"common": 0, "accounts": 1, "datasets": 2, "labeling": 3, "interchange": 4}


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
            if target not in LAYERS or source not in LAYERS or LAYERS[target] >= LAYERS[source]:
                found.append(f"{module_name(path, root)}:{line} imports {name} ({source} -> {target})")
    return found


def test_every_installed_app_has_its_place_in_the_layers() -> None:
    from django.conf import settings

    installed = {app.split(".")[1] for app in settings.INSTALLED_APPS if app.startswith("apps.")}
    folders = {path.parent.name for path in (REPO_ROOT / "apps").glob("*/__init__.py")}
    assert installed == folders == set(LAYERS), "place each app in LAYERS (and DESIGN.md section 2)"


def test_no_app_imports_an_app_of_its_own_layer_or_above() -> None:
    assert arrows_against_the_layers() == []


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
