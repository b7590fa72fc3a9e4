"""`make run` from this tree serves the demo job, and the public contract's smoke test passes against it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT.parent / "shared" / "contract" / "smoke.py"
IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["POLYLOG_VAR_DIR"] = str(tmp_path_factory.mktemp("var"))
    log = open(Path(env["POLYLOG_VAR_DIR"]) / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            get(base + "/")
            break
        except OSError:
            time.sleep(0.2)  # polling the port until the server answers
    yield base, proc, Path(env["POLYLOG_VAR_DIR"]) / "server.log"
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)
    log.close()


def token_for(base: str) -> str:
    request = urllib.request.Request(
        base + "/api/auth/token/",
        data=json.dumps({"username": "demo", "password": "demo-polylog"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["token"]


def test_it_serves_the_home_page_and_lists_the_demo_job(server):
    base, proc, log = server
    assert proc.poll() is None, log.read_text()[-3000:]
    status, _ = get(base + "/")
    assert status == 200
    status, body = get(base + "/api/jobs/", token_for(base))
    jobs = json.loads(body)
    assert status == 200
    assert any(job["name"].startswith("Demo") and job["progress"]["total"] >= 3 for job in jobs)


def test_the_contract_smoke_test_passes_against_it(server):
    if not SMOKE.exists():
        if IN_CI:
            pytest.fail(f"{SMOKE} is missing; CI must have ../shared beside the clone")
        pytest.skip("../shared/contract/smoke.py is absent (a fresh clone without ../shared)")
    base, _, _ = server
    _, body = get(base + "/api/jobs/", token_for(base))
    job = next(j for j in json.loads(body) if j["name"].startswith("Demo"))
    result = subprocess.run(
        [
            sys.executable,
            str(SMOKE),
            "--base",
            base,
            "--username",
            "demo",
            "--password",
            "demo-polylog",
            "--job",
            str(job["id"]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "contract ok" in result.stdout
