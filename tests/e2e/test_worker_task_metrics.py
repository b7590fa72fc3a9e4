"""A task run by a real queue worker (`manage.py worker`, RQ over Redis), in the work horse RQ forks for it,
shows its duration in the /metrics of a web process (a real Daphne): the horse's own registry dies with
it, so the durations go through the database (apps/tasks/durations.py).

Needs Redis on its standard local port: skipped without it, except on CI (CI=true). The database is a
SQLite file the three processes share (the command, the worker and its horses, Daphne).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import service_missing
from tests.live_servers import (
    Daphne,
    QueueWorker,
    Unavailable,
    daphne_start,
    manage,
    redis_flushed,
    server_env,
    wait_until_serving,
)

REDIS_DB = int(os.environ.get("POLYLOG_TEST_REDIS_DB", "14"))  # 14: no other test uses it
KIND = "rebuild_projections"


@pytest.fixture
def redis_url() -> str:
    try:
        return redis_flushed(REDIS_DB)
    except Unavailable as exc:
        service_missing(exc, "Redis on its standard local port")


@pytest.fixture
def processes() -> Iterator[list[Daphne | QueueWorker]]:
    started: list[Daphne | QueueWorker] = []
    yield started
    for process in started:
        if isinstance(process, QueueWorker):
            process.kill(signal.SIGTERM)
        else:
            process.stop()


Sample = tuple[str, tuple[tuple[str, str], ...]]


def sample(name: str, **labels: str) -> Sample:
    return name, tuple(sorted(labels.items()))


def scrape(server: Daphne) -> dict[Sample, float]:
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        sample(found.name, **found.labels): found.value
        for family in text_string_to_metric_families(text)
        for found in family.samples
    }


def test_a_task_that_a_workers_forked_horse_ran_shows_its_duration_in_the_web_processs_metrics(
    redis_url: str, processes: list[Daphne | QueueWorker], tmp_path: Path
) -> None:
    env = server_env(tmp_path, REDIS_URL=redis_url, POLYLOG_METRICS_PUBLIC="true")
    manage(env, "migrate", "--noinput", "-v0")
    web = daphne_start(env, tmp_path / "logs", "web")
    processes.append(web)
    worker = QueueWorker(env, tmp_path / "worker.log")
    processes.append(worker)
    wait_until_serving([web])
    labels = {"kind": KIND, "status": "done"}
    assert sample("polylog_task_seconds_count", **labels) not in scrape(web)

    # The command queues the rebuild on RQ (REDIS_URL is set) and waits until the worker has run it.
    output = manage(env, "rebuild_projections", timeout=120)

    assert f"queued: {KIND}" in output and output.rstrip().endswith("0 differences repaired")
    with sqlite3.connect(tmp_path / "polylog.sqlite3") as database:
        ran_in, duration = database.execute(
            "SELECT worker, duration FROM tasks_taskrun WHERE kind = ? AND status = 'done'", [KIND]
        ).fetchone()
    horse = int(ran_in.split(":")[1])  # host:pid:thread
    assert horse not in (worker.process.pid, web.process.pid), "RQ runs a job in a forked work horse"
    metrics = scrape(web)
    assert metrics[sample("polylog_task_seconds_count", **labels)] == 1
    assert metrics[sample("polylog_task_seconds_sum", **labels)] == pytest.approx(duration)
    assert metrics[sample("polylog_task_seconds_bucket", **labels, le="+Inf")] == 1
