"""The domain is pure: importing it, every submodule included, loads no Django (STYLE house rule 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter, so nothing the test session imported can hide or cause a Django import.
PROBE = """
import importlib, json, pkgutil, sys
import apps.labeling.domain as domain
names = [domain.__name__]
for info in pkgutil.walk_packages(domain.__path__, domain.__name__ + "."):
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({
    "domain_modules": names,
    "django_modules": sorted(m for m in sys.modules if m == "django" or m.startswith("django")),
}))
"""


def probe() -> dict[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_importing_the_domain_and_every_submodule_loads_no_django():
    loaded = probe()

    assert "apps.labeling.domain.decide" in loaded["domain_modules"]
    assert "apps.labeling.domain.evolve" in loaded["domain_modules"]
    assert loaded["django_modules"] == [], f"the domain pulled in Django: {loaded['django_modules']}"
