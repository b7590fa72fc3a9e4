"""`/metrics`: this process's Prometheus metrics (apps/common/metrics.py), behind a bearer token or a setting.

POLYLOG["METRICS_TOKEN"] set: a scrape sends `Authorization: Bearer <token>`, else 401. Unset: /metrics
answers 404, as an unknown path does, unless POLYLOG["METRICS_PUBLIC"] opens it to anyone who reaches the
port (a scraper on a private network). docs/operations.md, "Metrics".
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from apps.tasks import queue
from apps.tasks.durations import task_durations

log = logging.getLogger(__name__)


class QueueDepth(Collector):
    """The task queue's depth, read at each scrape (apps/tasks/queue.py's queue_depth(): the runs queued,
    the same figure from every process). A scrape that cannot read it leaves the gauge out rather than
    failing the whole answer; /readyz says why."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering calls collect(): a database query when config.urls is imported,
        # which fails before `migrate` has made the tasks table (and wherever the database is not open yet).
        yield GaugeMetricFamily("polylog_queue_depth", "Tasks waiting on the queue.")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depth = queue.queue_depth()
        except Exception:  # noqa: BLE001 - the database is down: the other metrics still matter
            log.warning("metrics: the queue depth could not be read", exc_info=True)
            return
        yield GaugeMetricFamily("polylog_queue_depth", "Tasks waiting on the queue.", depth)


TASK_SECONDS = (
    "polylog_task_seconds",
    "Background task runs finished, in any process (web, worker, work horse), by kind and status: seconds"
    " from start to end.",
)


class TaskDurations(Collector):
    """The task duration histogram, read at each scrape from the counts every run's end adds to the
    database (apps/tasks/durations.py): the same figures from every process, including the runs that RQ's
    forked work horses ran, whose own registry ended with them. Left out when the database cannot be read."""

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(*TASK_SECONDS, labels=["kind", "status"])

    def collect(self) -> Iterator[HistogramMetricFamily]:
        try:
            durations = task_durations()
        except Exception:  # noqa: BLE001 - the database is down: the other metrics still matter
            log.warning("metrics: the task durations could not be read", exc_info=True)
            return
        family = HistogramMetricFamily(*TASK_SECONDS, labels=["kind", "status"])
        for kind, status, buckets, seconds in durations:
            family.add_metric([kind, status], buckets, seconds)
        yield family


REGISTRY.register(QueueDepth())
REGISTRY.register(TaskDurations())


def bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.POLYLOG["METRICS_TOKEN"]
    if not token and not settings.POLYLOG["METRICS_PUBLIC"]:
        raise Http404("metrics are off")
    if token and not hmac.compare_digest(bearer_token(request).encode(), token.encode()):
        refused = JsonResponse(
            {
                "code": "not_authenticated",
                "message": "Send the metrics token: Authorization: Bearer <token>.",
            },
            status=401,
        )
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(REGISTRY), content_type=content_type)
