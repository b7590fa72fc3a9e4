"""The reliability figures of `make bench` (issue 8): the suite's soak, crash and fuzz tests, run once more
with POLYLOG_FIGURES set so that they write what they measured (tests/figures.py), plus the size of the
authorization matrix. The tests assert; this only collects. Prints one JSON list of rows on its last line.

The soak and the crash test need PostgreSQL and Redis on loopback; without them they skip, and the rows
say so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = [
    "tests/e2e/test_soak.py",
    "tests/e2e/test_durability.py",
    "tests/integration/test_ws_fuzz.py",
    "tests/unit/test_fuzz_commands.py",
    "tests/integration/test_schema_fuzz.py",
]


def run_tests(quick: bool) -> tuple[list[dict], str]:
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "figures.jsonl"
        env = {**os.environ, "POLYLOG_FIGURES": str(figures)}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        if quick:
            env["POLYLOG_SOAK_SECONDS"] = "10"
        tests = [t for t in TESTS if (ROOT / t).exists()]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *tests],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        rows = [json.loads(line) for line in figures.read_text().splitlines()] if figures.exists() else []
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "no output"
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:])
    return rows, summary


def matrix_rows() -> list[dict]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from tests.integration.test_authorization_matrix import HTTP_ROWS, ROLES, WS_ROWS

    cells = (len(HTTP_ROWS) + len(WS_ROWS)) * len(ROLES)
    return [
        {
            "name": f"authorization matrix: {len(HTTP_ROWS)} HTTP + {len(WS_ROWS)} ws rows x {len(ROLES)} roles",
            "value": cells,
            "unit": "answers",
            "target": "",
            "ok": None,
            "database": "-",
        }
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows, summary = run_tests(args.quick)
    rows.append(
        {
            "name": "reliability tests (soak, crash, fuzzers)",
            "value": summary[:40],
            "unit": "",
            "target": "all pass",
            "ok": "failed" not in summary and "error" not in summary,
            "database": "-",
        }
    )
    rows += matrix_rows()
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
