"""SQLite's log checkpointed by a server's thread, not by the commit that finds it long
(apps/common/sqlite_wal.py). Each case runs in a process of its own on a database file of its own: the test
database is in memory, where SQLite keeps no log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from apps.common import sqlite_wal

REPO = Path(__file__).resolve().parents[2]

# Writes 2,000 pages of 4 KB in one commit (twice SQLite's own checkpoint limit), then reports the sizes
# of the database file and its log, at once and, with WAIT, once the database file holds the pages.
SCRIPT = """
import json, os, sys, time
import django
django.setup()
from django.db import connection
from apps.common import sqlite_wal

started = sqlite_wal.checkpointing_start()
with connection.cursor() as cursor:
    cursor.execute("PRAGMA wal_autocheckpoint")
    limit = cursor.fetchone()[0]
    cursor.execute("CREATE TABLE blobs (data BLOB)")
name = connection.settings_dict["NAME"]
with connection.cursor() as cursor:
    cursor.execute("BEGIN")
    for _ in range(2000):
        cursor.execute("INSERT INTO blobs VALUES (randomblob(4000))")
    cursor.execute("COMMIT")
after_commit = os.path.getsize(name)
waited = 0.0
if os.environ.get("WAIT"):
    while os.path.getsize(name) < 8_000_000 and waited < 60:
        time.sleep(0.05)
        waited += 0.05
print(json.dumps({"started": started, "limit": limit, "after_commit": after_commit,
                  "later": os.path.getsize(name), "log": os.path.getsize(str(name) + "-wal")}))
"""


def run(tmp_path: Path, **env: str) -> dict[str, Any]:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "POLYLOG_VAR_DIR": str(tmp_path),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_commit_over_sqlites_own_limit_leaves_the_checkpoint_to_the_servers_thread(tmp_path: Path) -> None:
    # The thread's first round an hour away: what the commit itself did shows alone.
    seen = run(tmp_path, POLYLOG_SQLITE_CHECKPOINT_SECONDS="3600")

    assert seen["started"] and seen["limit"] == sqlite_wal.BACKSTOP_PAGES
    assert seen["log"] > 8_000_000  # the pages are in the log
    assert seen["after_commit"] < 1_000_000  # and not yet in the database file: no checkpoint on commit


def test_the_servers_thread_copies_the_log_into_the_database_file(tmp_path: Path) -> None:
    seen = run(tmp_path, POLYLOG_SQLITE_CHECKPOINT_SECONDS="0.05", WAIT="1")

    assert seen["started"]
    assert seen["later"] > 8_000_000


def test_with_the_setting_0_commits_checkpoint_as_sqlite_does_by_itself(tmp_path: Path) -> None:
    seen = run(tmp_path, POLYLOG_SQLITE_CHECKPOINT_SECONDS="0")

    assert not seen["started"] and seen["limit"] == 1000
    assert seen["after_commit"] > 8_000_000  # the commit that found the log long copied it


def test_a_database_in_memory_is_told_from_a_file() -> None:
    # SQLite keeps no log for a database in memory: the thread is not started for one.
    assert sqlite_wal._in_memory(":memory:")
    assert sqlite_wal._in_memory("file:memorydb_default?mode=memory&cache=shared")
    assert not sqlite_wal._in_memory("/var/lib/polylog/polylog.sqlite3")
