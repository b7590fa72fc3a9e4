"""Where a queued run goes: RQ over Redis (through django-rq) when REDIS_URL is set, else the embedded pool,
threads of the server process itself. Both call apps.tasks.runner.task_execute with the run's id.

Two lanes: the kinds registered `low` (an import's thumbnails: bulk work nobody waits on) go in their own,
so a run of any other kind (an import, an export, a rebuild) is taken first instead of waiting behind the
thumbnail runs of every image imported before it. RQ: a second queue, which `manage.py worker` listens to
after the main one. Embedded: threads of their own (docs/operations.md, "Background work")."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection

from .registry import task_low

log = logging.getLogger(__name__)

RQ_QUEUE = "polylog"
RQ_QUEUE_LOW = "polylog-low"
# What a worker listens to, in this order: RQ takes a job from the first queue that has one.
RQ_QUEUES = (RQ_QUEUE, RQ_QUEUE_LOW)


def backend_name() -> str:
    return settings.POLYLOG["TASK_BACKEND"]


def rq_job_id(run_id: int) -> str:
    return f"polylog-task-{run_id}"


def rq_queue(kind: str) -> str:
    """The RQ queue of a run of `kind`."""
    return RQ_QUEUE_LOW if task_low(kind) else RQ_QUEUE


def submit(run_id: int, kind: str) -> None:
    """Hand the run (of `kind`, which picks its lane) to whoever executes it (called after the commit that
    recorded it)."""
    if backend_name() == "rq":
        import django_rq

        django_rq.get_queue(rq_queue(kind)).enqueue(
            "apps.tasks.runner.task_execute",
            run_id,
            job_id=rq_job_id(run_id),
            job_timeout=settings.POLYLOG["TASK_TIMEOUT_SECONDS"],
            result_ttl=0,  # the TaskRun is the record; RQ keeps nothing after
            failure_ttl=24 * 3600,
        )
    else:
        embedded_pool(low=task_low(kind)).submit(_embedded_execute, run_id)


def rq_submitted(run_id: int, kind: str) -> bool:
    """Whether RQ still holds a job for the run (queued or started), in whichever queue: a job is stored
    by its id, not by its queue (one queued by a version before the lanes is still found)."""
    import django_rq
    from rq.job import Job

    return Job.exists(rq_job_id(run_id), connection=django_rq.get_connection(rq_queue(kind)))


# The embedded pool ---------------------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_low_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def embedded_pool(*, low: bool = False) -> ThreadPoolExecutor:
    """The process's task threads, made on first use (the server's start, or the first enqueue): the
    main lane's, or with `low` the low-priority lane's, POLYLOG["TASK_THREADS"] each. A lane of threads of
    its own rather than one queue in priority order: a run of the main lane starts at once even when
    every thread of the other is in a long thumbnail run, and thumbnails alone go as fast as before."""
    global _pool, _low_pool
    with _pool_lock:
        if low:
            if _low_pool is None:
                _low_pool = ThreadPoolExecutor(
                    max_workers=settings.POLYLOG["TASK_THREADS"], thread_name_prefix="polylog-task-low"
                )
            return _low_pool
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.POLYLOG["TASK_THREADS"], thread_name_prefix="polylog-task"
            )
        return _pool


def _embedded_execute(run_id: int) -> None:
    from .runner import task_execute

    try:
        close_old_connections()  # a pool thread's connection from an earlier run may have gone stale
        task_execute(run_id)
    except Exception:  # task_execute records failures itself; this is only for the record's own write
        log.exception("task run %s could not be executed", run_id)
    finally:
        connection.close()  # each pool thread keeps no connection between runs


def sweep_round() -> None:
    """One sweep, from a thread of its own: a failure (the database away for a moment) waits for the next."""
    from .services import tasks_sweep

    try:
        tasks_sweep()
    except Exception:
        log.warning("the sweep of task runs failed", exc_info=True)
    finally:
        connection.close()


def sweeping_start() -> None:
    """Sweep every POLYLOG["TASK_SWEEP_SECONDS"] from a daemon thread, once per process: a run whose worker
    died while this process lives is found without waiting for a restart. 0 skips the rounds."""
    global _sweeper
    with _pool_lock:
        if _sweeper is not None:
            return
        _sweeper = threading.Thread(target=_sweep_forever, name="polylog-task-sweep", daemon=True)
    _sweeper.start()


def _sweep_forever() -> None:
    while True:
        interval = settings.POLYLOG["TASK_SWEEP_SECONDS"]
        time.sleep(interval or 60)  # the rounds' own clock: there is nothing to wait on
        if interval:
            sweep_round()


_sweeper: threading.Thread | None = None


def embedded_start() -> Future[list[int]] | None:
    """At the server's start in the embedded mode: make the pool, and sweep in it the runs a previous
    process left behind (dead "running" ones, and queued ones that were only in its memory); then sweep
    every POLYLOG["TASK_SWEEP_SECONDS"] (a run cut off by a restart quicker than the stale limit is found
    by a later round). A no-op with the RQ backend, whose workers sweep."""
    if backend_name() != "embedded":
        return None
    from .services import tasks_sweep

    def sweep() -> list[int]:
        try:
            return tasks_sweep(resubmit_queued=True)
        except Exception:  # no database yet (a migrate to come, a test collection): the next start sweeps
            log.warning("the start sweep of task runs could not run", exc_info=True)
            return []
        finally:
            connection.close()

    sweeping_start()
    return embedded_pool().submit(sweep)
