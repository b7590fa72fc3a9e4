"""Real Daphne processes on loopback for the end-to-end tests and the benchmarks, with their database.

Everything here talks only to 127.0.0.1 and bounds every wait; servers run in their own process group so
that stopping one stops all it started.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_BASE_URL = "redis://127.0.0.1:6379"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Unavailable(Exception):
    """A service the caller needs (PostgreSQL, Redis) does not answer."""


def git(*args: str) -> str:
    """Run git in this checkout (the A/B benches' worktrees); its output, or RuntimeError with git's words."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(var_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its database and channel-layer settings, plus `settings`."""
    drop = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "POLYLOG_VAR_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["POLYLOG_VAR_DIR"] = str(var_dir)
    env.update(settings)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120, root: Path = ROOT) -> str:
    """Run `manage.py <args>` in the project (or the source tree `root`) with `env`; its stdout, or
    RuntimeError with its output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def photos_write(folder: Path, count: int, *, size: tuple[int, int] = (640, 480)) -> Path:
    """`count` small generated JPEGs in `folder` (a demo needs no real photos)."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    for n in range(count):
        picture = Image.new("RGB", size, (rng.randint(120, 230), 180, 200))
        x, y = rng.randint(20, size[0] // 2), rng.randint(20, size[1] // 2)
        ImageDraw.Draw(picture).ellipse((x, y, x + 120, y + 90), fill=(40, 90, rng.randint(0, 255)))
        data = io.BytesIO()
        picture.save(data, format="JPEG", quality=80)
        (folder / f"photo_{n + 1:03d}.jpg").write_bytes(data.getvalue())
    return folder


def postgres_fresh(name: str) -> str:
    """Drop and create the database `name` on the local PostgreSQL; its URL. Unavailable if unreachable."""
    try:
        import psycopg
        from psycopg import sql

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except Exception as exc:  # noqa: BLE001 - any failure here means "no PostgreSQL to use"
        raise Unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not usable: {exc}") from exc
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def postgres_drop(name: str) -> None:
    """Drop the database `name` (a test's own, made by postgres_fresh) once its servers are stopped."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def redis_flushed(db: int) -> str:
    """Empty database `db` of the local Redis; its URL. Unavailable if unreachable."""
    url = f"{REDIS_BASE_URL}/{db}"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.flushdb()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no Redis to use"
        raise Unavailable(f"Redis at {url} is not usable: {exc}") from exc
    return url


@dataclass
class Daphne:
    """One Daphne process serving `application` on 127.0.0.1:`port`."""

    process: subprocess.Popen[bytes]
    port: int
    access_log: Path
    output_path: Path
    output: IO[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        """Whether the server answers HTTP at all (any status will do)."""
        try:
            _DIRECT.open(f"{self.base_url}/api/auth/token/", timeout=2).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def log_tail(self) -> str:
        self.output.flush()
        return self.output_path.read_text(errors="replace")[-3000:]

    def rss_bytes(self) -> int:
        """The server's resident memory now (VmRSS of /proc/<pid>/status; the pid is Daphne's own python
        process, which Popen started directly, without a shell)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for process {self.process.pid}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown handler runs, open transactions are cut off."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.output.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.output.close()


def daphne_start(
    env: dict[str, str],
    logs: Path,
    name: str,
    *,
    application: str = "config.asgi:application",
    port: int | None = None,
    root: Path = ROOT,
) -> Daphne:
    """Start Daphne in a new process group, its access log in `logs/<name>.access.log`; on `port`, or
    on a free one; serving the project, or the source tree `root` (its working directory, which comes
    first on its import path). The process is Daphne's python itself (no shell between), so its pid is
    the server's."""
    logs.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    access_log = logs / f"{name}.access.log"
    output_path = logs / f"{name}.out.log"
    output = open(output_path, "wb")  # noqa: SIM115 - closed by Daphne.stop
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--access-log",
            str(access_log),
            application,
        ],
        cwd=root,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Daphne(process, port, access_log, output_path, output)


def wait_until_serving(servers: list[Daphne], timeout: float = 30) -> None:
    """Poll each server until it answers HTTP; RuntimeError if one exits or the deadline passes."""
    deadline = time.monotonic() + timeout
    for server in servers:
        while not server.answers():
            if server.process.poll() is not None:
                raise RuntimeError(f"Daphne on port {server.port} exited:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Daphne on port {server.port} did not answer in {timeout:g} s")
            time.sleep(0.1)  # polling the port until it answers, within the deadline


class QueueWorker:
    """`manage.py worker` (an RQ worker, apps/tasks) in its own process group, its output in `log`. RQ forks
    a work horse per job into a process group of its own: kill() reaches the horse too, as the loss of the
    machine or its container would."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.output = open(log, "wb")  # noqa: SIM115 - closed by kill()
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--name", log.stem],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            os.killpg(self.process.pid, sig)
            for horse in children:
                with contextlib.suppress(ProcessLookupError):  # it had ended
                    os.killpg(int(horse), sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a warm shutdown still finishing a job: cut it short
            self.kill(signal.SIGKILL)
        self.output.close()

    def tail(self) -> str:
        self.output.flush()
        return self.log.read_text(errors="replace")[-3000:]
