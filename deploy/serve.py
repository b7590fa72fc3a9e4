"""`make serve`: N Daphne processes, the queue workers and Debian's nginx in front, as one foreground command.

It migrates, collects the static files into STATIC_ROOT, writes var/nginx/nginx.conf from
deploy/nginx.conf.template with the ports it chose, starts everything in this process's group, says
"serving on <url>" once nginx and every Daphne answer, and on SIGTERM or Ctrl-C stops them all (Daphne
first, so its sockets close while nginx still forwards the close). If any process dies, it stops the
rest and exits 1: a supervisor (systemd, docker) restarts the whole. docs/deploy.md says why a script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
ACCEL_PREFIX = "/_polylog_media/"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def nginx_binary() -> str | None:
    """Debian puts nginx in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def _resolver() -> str:
    """A `resolver` line for proxy_pass to a bucket named by host (S3 behind X-Accel-Redirect): nginx
    resolves names in variables at request time, with the system's first name server."""
    try:
        for line in Path("/etc/resolv.conf").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                server = f"[{parts[1]}]" if ":" in parts[1] else parts[1]
                return f"resolver {server} valid=60s;"
    except OSError:
        pass
    return ""


def media_source(s3: bool, media_root: Path) -> str:
    indent = " " * 12
    if not s3:
        # No symlink below the media folder is followed: files a path import registered in place stay the
        # share's, which may swap one for a symlink afterwards (docs/data.md, "Registered in place").
        return f"{indent}alias {media_root}/;\n{indent}disable_symlinks on from={media_root};"
    lines = [
        "# The bucket's signed URL for the object, from Django's answer; fetched by nginx itself.",
        "set $media_url $upstream_http_x_polylog_media_url;",
        "proxy_pass $media_url;",
        "proxy_http_version 1.1;",
        "proxy_ssl_server_name on;",
        "# The person's credentials stay here: the signature in the URL is what the bucket checks.",
        'proxy_set_header Authorization "";',
        'proxy_set_header Cookie "";',
        "# The type and name Django chose from the file's bytes win over the object's own.",
        "proxy_hide_header Content-Type;",
        "proxy_hide_header Content-Disposition;",
        "proxy_hide_header Set-Cookie;",
        "# Nor does anything of the bucket's own reach the browser: its ids, checksums, CORS and caching.",
        *(
            f"proxy_hide_header {name};"
            for name in (
                "x-amz-request-id",
                "x-amz-id-2",
                "x-amzn-requestid",
                "x-amz-content-sha256",
                "x-amz-sdk-checksum-algorithm",
                "x-amz-checksum-crc32",
                "x-amz-version-id",
                "x-amz-server-side-encryption",
                "Access-Control-Allow-Origin",
                "Cache-Control",
                "Expires",
            )
        ),
    ]
    return "\n".join(indent + line for line in lines)


def nginx_conf(
    *,
    run_dir: Path,
    listen: str,
    daphne_ports: list[int],
    static_root: Path,
    media_root: Path,
    s3: bool,
    expose_upstream: bool,
    max_body: int,
) -> str:
    """The nginx configuration for these ports and folders, from the template."""
    user = ""
    if os.geteuid() == 0:
        # Started by root, nginx would hand its workers to `nobody`, who cannot read a private var dir.
        user = "user root;"
    fill = {
        "USER": user,
        "RUN": str(run_dir),
        "LISTEN": listen,
        "SERVERS": "\n".join(f"        server 127.0.0.1:{port};" for port in daphne_ports),
        "STATIC_ROOT": str(static_root),
        "ACCEL": ACCEL_PREFIX,
        "MEDIA_SOURCE": media_source(s3, media_root),
        "RESOLVER": _resolver() if s3 else "",
        "MAX_BODY": str(max_body),
        # Which Daphne answered, for the topology test and for debugging only: it names internal ports.
        "UPSTREAM_HEADER": "add_header X-Polylog-Upstream $upstream_addr always;" if expose_upstream else "",
    }
    text = TEMPLATE.read_text()
    for name, value in fill.items():
        text = text.replace(f"@@{name}@@", value)
    if "@@" in text:
        raise RuntimeError(f"{TEMPLATE} has a placeholder serve.py does not fill")
    return text


def answers(url: str) -> bool:
    """Whether `url` (a /healthz) answers 200: a 502 from nginx is not an answer of a Daphne."""
    try:
        with _DIRECT.open(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:  # urllib.error.HTTPError included
        return False


class Supervisor:
    """The started processes, stopped together."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child holds it open
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append((name, process))
        return process

    def dead(self) -> tuple[str, int] | None:
        for name, process in self.processes:
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop(self, timeout: float) -> None:
        """Daphne and the workers first, nginx once they are gone: a socket's closing frame (1012 on
        SIGTERM) still reaches its client through nginx."""
        servers = [p for name, p in self.processes if name != "nginx"]
        proxies = [p for name, p in self.processes if name == "nginx"]
        for group, signum in ((servers, signal.SIGTERM), (proxies, signal.SIGQUIT)):
            for process in group:
                if process.poll() is None:
                    process.send_signal(signum)
            deadline = time.monotonic() + timeout
            for process in group:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daphnes", type=int, default=int(os.environ.get("DAPHNES", "2")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--expose-upstream", action="store_true", help="name the Daphne in each answer")
    parser.add_argument("--ready-timeout", type=float, default=60)
    args = parser.parse_args(argv)
    if args.daphnes < 1:
        parser.error("--daphnes must be at least 1")

    nginx = nginx_binary()
    if nginx is None:
        print("nginx is not installed: `make nginx` (as root) or apt-get install nginx", file=sys.stderr)
        return 2

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    # The servers' own settings, as their children will read them (the same environment plus these).
    env = dict(os.environ)
    env.setdefault("POLYLOG_BEHIND_PROXY", "true")
    env.setdefault("POLYLOG_MEDIA_ACCEL_PREFIX", ACCEL_PREFIX)
    os.environ.update(env)
    django.setup()

    if args.daphnes > 1 and not settings.REDIS_URL:
        # Live events, presence and the login throttle cross processes through Redis only.
        print("several Daphne processes need REDIS_URL (redis://host:port/db)", file=sys.stderr)
        return 2
    var_dir = Path(settings.VAR_DIR)
    run_dir = var_dir / "nginx"
    logs = var_dir / "logs"
    for folder in (run_dir, logs):
        folder.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.db import connections

    connections.close_all()  # this process only supervises from here on

    ports = [free_port("127.0.0.1") for _ in range(args.daphnes)]
    s3 = bool(settings.AWS_STORAGE_BUCKET_NAME)
    conf = run_dir / "nginx.conf"
    conf.write_text(
        nginx_conf(
            run_dir=run_dir,
            listen=f"{args.host}:{args.port}",
            daphne_ports=ports,
            static_root=Path(settings.STATIC_ROOT),
            media_root=Path(settings.MEDIA_ROOT),
            s3=s3,
            expose_upstream=args.expose_upstream,
            max_body=settings.POLYLOG["MAX_REQUEST_BYTES"],
        )
    )
    checked = subprocess.run([nginx, "-t", "-q", "-p", str(run_dir), "-c", str(conf)], capture_output=True)
    if checked.returncode != 0:
        print(f"nginx refused {conf}:\n{checked.stderr.decode(errors='replace')}", file=sys.stderr)
        return 2

    supervisor = Supervisor(logs)
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for n, port in enumerate(ports, start=1):
            daphne = [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            access = ["--access-log", str(logs / f"daphne{n}.access.log")]
            supervisor.start(f"daphne{n}", [*daphne, *access, "config.asgi:application"], env)
        # The queue is RQ over REDIS_URL (docs/operations.md); without it tasks run in each server.
        for n in range(1, args.workers + 1 if settings.REDIS_URL else 1):
            supervisor.start(
                f"worker{n}", [python, "manage.py", "worker", "--name", f"serve-{os.getpid()}-{n}"], env
            )
        supervisor.start("nginx", [nginx, "-p", str(run_dir), "-c", str(conf)], env)

        url = f"http://{args.host}:{args.port}"
        waiting = [f"http://127.0.0.1:{port}/healthz" for port in ports] + [f"{url}/healthz"]
        deadline = time.monotonic() + args.ready_timeout
        while waiting and not stopping:
            died = supervisor.dead()
            if died:
                name, code = died
                print(
                    f"{name} exited ({code}) while starting:\n{log_tail(logs / f'{name}.log')}",
                    file=sys.stderr,
                )
                return 1
            if time.monotonic() > deadline:
                print(f"not answering after {args.ready_timeout:g} s: {waiting}", file=sys.stderr)
                return 1
            if answers(waiting[0]):
                waiting.pop(0)
            else:
                time.sleep(0.1)  # polling the port until it answers, within the deadline
        if not stopping:
            print(
                f"serving on {url} ({args.daphnes} Daphne processes on {ports}; logs in {logs})", flush=True
            )
        # Serving: sleep until a signal comes, a child's exit (SIGCHLD) or ours to stop.
        signals = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # delivered, not dropped as by default
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        while not stopping:
            died = supervisor.dead()
            if died:
                name, code = died
                print(
                    f"{name} exited ({code}); stopping the rest:\n{log_tail(logs / f'{name}.log')}",
                    file=sys.stderr,
                )
                return 1
            stopping = signal.sigwait(signals) != signal.SIGCHLD
        return 0
    finally:
        # A Daphne finishes its commands within its grace period (docs/operations.md); a little more here.
        supervisor.stop(timeout=settings.POLYLOG.get("STOP_GRACE_SECONDS", 10) + 5)


if __name__ == "__main__":
    sys.exit(main())
