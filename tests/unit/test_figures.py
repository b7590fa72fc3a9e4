"""Figures for `make bench` (tests/figures.py) are written only for modules whose tests all passed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[2]

# A module that measures a figure in a test and claims one more when its module fixture is torn down, as
# the fuzz modules do, followed by `more` (another test).
MODULE = """
import pytest

from tests.figures import figure


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    figure("{name}: failures", 0, "", "0", True)


def test_measures():
    figure("{name}: measured", 7, "things")


{more}
"""
PASSES = "def test_checks():\n    assert True"
FAILS = "def test_checks():\n    assert False"
TEARDOWN_FAILS = """
@pytest.fixture
def leaves_a_mess():
    yield
    raise RuntimeError("left a mess")


def test_checks(leaves_a_mess):
    assert True
"""


def figures_written(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, **modules: str) -> list[str]:
    """Run `modules` ({name: more}) in one pytest session with the suite's hooks; the names of the
    figures written."""
    written = pytester.path / "figures.jsonl"
    monkeypatch.setenv("POLYLOG_FIGURES", str(written))
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makeconftest(
        "from tests.figures import pytest_runtest_makereport, pytest_runtest_protocol, pytest_sessionfinish"
    )
    pytester.makepyfile(
        **{f"test_{name}": MODULE.format(name=name, more=more) for name, more in modules.items()}
    )
    pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider")
    if not written.exists():
        return []
    return [json.loads(line)["name"] for line in written.read_text().splitlines()]


def test_a_module_whose_tests_all_pass_writes_its_figures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert figures_written(pytester, monkeypatch, fine=PASSES) == ["fine: measured", "fine: failures"]


def test_a_module_with_a_failing_test_writes_no_figure_not_even_those_measured_before_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = figures_written(pytester, monkeypatch, broken=FAILS, fine=PASSES)

    assert written == ["fine: measured", "fine: failures"]


def test_a_fixture_that_fails_in_its_teardown_counts_as_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = figures_written(pytester, monkeypatch, broken=TEARDOWN_FAILS, fine=PASSES)

    assert written == ["fine: measured", "fine: failures"]
