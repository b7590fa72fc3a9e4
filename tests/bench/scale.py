"""`make bench SCALE=1`: a job of 10,000 items and one of 1,000,000 (10 events each) on PostgreSQL, and the
items list, counts, sync and a command measured on both: a figure should be flat in the number of items.

The parent process makes one database per size (a unique name, dropped after) and runs each size in a child
process (settings are per process); each child seeds in bulk (COPY through psycopg 3), checks what it seeded
(hash chains and read models of sample items), writes the main queries' plans to var/bench/scale/, and
measures in process through DRF's test client. Prints the comparison table on stderr and, as its last stdout
line, the rows for tests/bench/run.py's table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432")
EVENTS_PER_ITEM = 10
LABELERS = 5
LABELS = ["person", "car", "dog", "cat", "bicycle"]
NULL = "\\N"  # COPY's text format
PAGE_SIZE, DEEP_PAGE = (
    50,
    20,
)  # the deep page is item 951-1,000 of a filter: each filter matches >= 1,000 at 10k


# Seeding (child) -----------------------------------------------------------------------------------------


def square(k: int) -> tuple[tuple[float, float], ...]:
    x, y = 10.0 + (k % 5) * 60, 10.0 + (k // 5) * 60
    return ((x, y), (x + 40, y), (x + 40, y + 40), (x, y + 40))


def item_plan(n: int, labels: list[int], labelers: list[int]) -> dict[str, Any]:
    """What the n-th item holds (n from 0): its statuses, labels and labelers mixed as in real use. Six in
    ten are saved (labeled), four in ten have shapes drawn but not saved; one in nine is a hard example;
    each item uses one or two of the classes; five labelers share the saves."""
    hard = n % 9 == 0
    saved = n % 10 < 6
    shapes = EVENTS_PER_ITEM - hard - saved
    primary, secondary = labels[n % 5], labels[(n // 5) % 5]
    shape_labels = [secondary if k % 3 == 2 else primary for k in range(shapes)]
    return {
        "hard": hard,
        "saved": saved,
        "shape_labels": shape_labels,
        "labeler": labelers[(n // 10) % LABELERS] if saved else None,
    }


def image_name(n: int) -> tuple[str, str]:
    """(name, path): a batch folder of 1,000 images (q=batch0007/ finds 1,000 at any size), unique names."""
    name = f"frame_{n:07d}.jpg"
    return name, f"site{n % 20:02d}/batch{n // 1000:04d}/{name}"


def seed(items: int) -> dict[str, Any]:
    """A job of `items` items with EVENTS_PER_ITEM events each, written with COPY. Returns its ids."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from apps.datasets.models import Dataset, Image
    from apps.labeling import store
    from apps.labeling.domain import SCHEMA_VERSION
    from apps.labeling.domain.events import PolygonAdded, event_payload
    from apps.labeling.models import Item, ItemLabel, JobMember, Role, StoredEvent
    from apps.labeling.readmodels import item_tally_keys, job_tally_differences, label_bits
    from apps.labeling.services import job_create

    User = get_user_model()
    manager = User.objects.create_user("scale-manager", password="scale-scale", is_staff=False)
    labelers = [User.objects.create_user(f"scale-labeler-{k}", password="x") for k in range(LABELERS)]
    dataset = Dataset.objects.create(name="scale")
    job = job_create(
        name="scale",
        dataset=dataset,
        created_by=manager,
        label_classes=[{"name": label, "color": f"#{k * 40:02x}8040"} for k, label in enumerate(LABELS)],
    )
    JobMember.objects.bulk_create([JobMember(job=job, user=u, role=Role.ANNOTATOR) for u in labelers])
    labels = list(job.label_classes.order_by("id").values_list("id", flat=True))
    slots = store.label_slots(job.pk)
    labeler_ids = [u.pk for u in labelers]
    now = timezone.now()
    stamp = store.iso(now)
    db_stamp = now.isoformat()
    templates = {
        (k, label): store.chain.canonical(event_payload(PolygonAdded(0, "@@", label, square(k))))
        for k in range(EVENTS_PER_ITEM)
        for label in labels
    }
    version = SCHEMA_VERSION
    tally: dict[str, int] = {}
    raw = connection.connection  # psycopg 3
    started = time.perf_counter()
    with raw.cursor() as cursor:
        # A bulk load: no foreign-key triggers per row (the rows are made consistent here), no fsync wait.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        images_table, items_table = Image._meta.db_table, Item._meta.db_table
        events_table, labels_table = StoredEvent._meta.db_table, ItemLabel._meta.db_table
        with cursor.copy(
            f"COPY {images_table} (id, dataset_id, file, thumbnail, name, path, width, height, checksum, "
            "created_at) FROM STDIN"
        ) as copy:
            lines = []
            for n in range(items):
                name, path = image_name(n)
                lines.append(
                    f"{n + 1}\t{dataset.pk}\tscale/{n}.jpg\t\t{name}\t{path}\t1000\t800\t{n:064x}\t{db_stamp}\n"
                )
                if len(lines) >= 20_000:
                    copy.write("".join(lines))
                    lines = []
            copy.write("".join(lines))
        item_copy = cursor.copy(
            f"COPY {items_table} (id, job_id, image_id, status, shape_count, label_class_ids, label_bits, "
            "labeled_by_id, labeled_at, hard_example, last_seq, saved_seq, updated_at, created_at, "
            "review_status, open_issues) FROM STDIN"
        )
        with item_copy as copy:
            lines = []
            for n in range(items):
                plan = item_plan(n, labels, labeler_ids)
                counts: dict[int, int] = {}
                for label in plan["shape_labels"]:
                    counts[label] = counts.get(label, 0) + 1
                held = sorted(counts)
                saved_seq = len(plan["shape_labels"]) + 1 if plan["saved"] else 0
                for key in item_tally_keys(
                    status="labeled" if plan["saved"] else "unlabeled",
                    hard_example=plan["hard"],
                    labeled_by_id=plan["labeler"],
                    labels=held,
                    review_status="to_review" if plan["saved"] else "none",
                ):
                    tally[key] = tally.get(key, 0) + 1
                labeler = plan["labeler"]
                lines.append(
                    f"{n + 1}\t{job.pk}\t{n + 1}\t{'labeled' if plan['saved'] else 'unlabeled'}\t"
                    f"{len(plan['shape_labels'])}\t{json.dumps(held)}\t{label_bits(held, slots)}\t"
                    f"{labeler or NULL}\t{db_stamp if labeler else NULL}\t"
                    f"{'t' if plan['hard'] else 'f'}\t{EVENTS_PER_ITEM}\t{saved_seq}\t{db_stamp}\t{db_stamp}\t"
                    f"{'to_review' if plan['saved'] else 'none'}\t0\n"
                )
                if len(lines) >= 20_000:
                    copy.write("".join(lines))
                    lines = []
            copy.write("".join(lines))
        with cursor.copy(f"COPY {labels_table} (item_id, label_class_id, shape_count) FROM STDIN") as copy:
            lines = []
            for n in range(items):
                counts = {}
                for label in item_plan(n, labels, labeler_ids)["shape_labels"]:
                    counts[label] = counts.get(label, 0) + 1
                lines += [f"{n + 1}\t{label}\t{count}\n" for label, count in counts.items()]
                if len(lines) >= 20_000:
                    copy.write("".join(lines))
                    lines = []
            copy.write("".join(lines))
        event_id = 0
        with cursor.copy(
            f"COPY {events_table} (id, item_id, seq, type, schema_version, payload, actor_id, created_at, "
            "command_id, hash) FROM STDIN"
        ) as copy:
            lines = []
            sha256 = hashlib.sha256
            for n in range(items):
                item_id = n + 1
                plan = item_plan(n, labels, labeler_ids)
                actor = plan["labeler"] or labeler_ids[n % LABELERS]
                events = []
                for k, label in enumerate(plan["shape_labels"]):
                    shape_id = str(uuid.UUID(int=item_id * 1000 + k))
                    events.append(("polygon_added", templates[(k, label)].replace("@@", shape_id)))
                if plan["saved"]:
                    events.append(("saved", "{}"))
                if plan["hard"]:
                    events.append(("hard_example_marked", "{}"))
                prev = store.GENESIS_HASH
                for seq, (type_, payload) in enumerate(events, start=1):
                    # store.event_hash, written out: 10,000,000 of them.
                    body = f'[{item_id},{seq},"{type_}",{version},{payload},{actor},"{stamp}",null]'
                    prev = sha256((prev + body).encode()).hexdigest()
                    event_id += 1
                    lines.append(
                        f"{event_id}\t{item_id}\t{seq}\t{type_}\t{version}\t{payload}\t{actor}\t{db_stamp}\t\\N\t{prev}\n"
                    )
                if len(lines) >= 50_000:
                    copy.write("".join(lines))
                    lines = []
            copy.write("".join(lines))
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in (images_table, items_table, events_table):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )
    job_tally_differences(job.pk, repair=True, expected=tally)
    copied = time.perf_counter() - started
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load: planner statistics and the visibility map.
        for table in (images_table, items_table, labels_table, "labeling_jobtally"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(f"ANALYZE {events_table}")
    return {
        "job_id": job.pk,
        "dataset_id": dataset.pk,
        "manager_id": manager.pk,
        "labeler_id": labeler_ids[0],
        "label_id": labels[0],
        "events": event_id,
        "copy_seconds": round(copied, 1),
        "seed_seconds": round(time.perf_counter() - started, 1),
    }


def seeded_check(job_id: int, items: int, sample: int = 50) -> None:
    """The seeded streams are what the service would have written: their hash chains verify and the read
    models equal those rebuilt from their states (a wrong seed would make every figure meaningless)."""
    from apps.labeling import store
    from apps.labeling.models import Item
    from apps.labeling.readmodels import job_tally_differences, read_model

    rng = random.Random(1)
    ids = sorted({rng.randint(1, items) for _ in range(sample)})
    report = store.chains_verify([(pk, EVENTS_PER_ITEM) for pk in ids])
    assert report.ok and report.events == len(ids) * EVENTS_PER_ITEM, report.problems[:3]
    slots = store.label_slots(job_id)
    for item in Item.objects.filter(pk__in=ids):
        state = store.state_load(item.pk, 1000, 800)
        save = (item.labeled_by_id, item.labeled_at) if item.labeled_by_id else None
        model = read_model(state, save, slots)
        for name, value in model.columns.items():
            assert getattr(item, name) == value, (item.pk, name, getattr(item, name), value)
    differences = job_tally_differences(job_id, repair=False)
    assert not differences, differences[:3]
    # A search finds what a substring test of the paths finds, through the tokens or the trigrams.
    from apps.labeling.models import LabelingJob
    from apps.labeling.selectors import item_list

    job = LabelingJob.objects.get(pk=job_id)
    middle = image_name(items // 2)[0]
    for q, found in ((middle, 1), (middle.upper()[3:-2], 1), ("batch0007/", 1000), ("/batch0007/f", 1000)):
        listed = set(item_list(job=job, q=q).values_list("id", flat=True))
        assert len(listed) == found, (q, len(listed))
        assert listed == set(
            Item.objects.filter(job=job, image__path__icontains=q).values_list("id", flat=True)
        )


# Measuring (child) ---------------------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def list_filters(ids: dict[str, Any]) -> dict[str, str]:
    return {
        "no filter": "",
        "status=labeled": "status=labeled",
        "status=unlabeled": "status=unlabeled",
        "hard_example": "hard_example=true",
        "label_class": f"label_class={ids['label_id']}",
        "q (a batch folder)": "q=batch0007/",
        "q (/a batch folder/)": "q=/batch0007/",  # its name bounded on both sides: through the tokens
        "labeled_by": f"labeled_by={ids['labeler_id']}",
        "review=to_review": "review=to_review",
    }


class Measure:
    """The figures of one job, a round at a time: the parent alternates rounds between the two sizes, so
    that the other work on a shared machine weighs on both alike."""

    def __init__(self, ids: dict[str, Any], items: int) -> None:
        from rest_framework.test import APIClient

        from apps.labeling.models import LabelingJob

        self.ids, self.items, self.job = ids, items, ids["job_id"]
        self.client = APIClient()
        self.client.force_authenticate(LabelingJob.objects.get(pk=self.job).created_by)
        self.added = 0  # batches of 1,000 new images so far
        self.rng = random.Random(7)

    def round(self, samples: int) -> dict[str, list[float]]:
        """Each figure's times in ms: a warm-up, then `samples` requests (twice that for commands). Each
        sync of 1,000 new images has its images inserted before the clock starts and its items and images
        removed after it stops, so the job keeps its size from round to round (and the 10k baseline stays
        10k: with a quarter of the samples and nothing removed, 10 samples in 5 rounds, it had grown to
        25k by the end, and the figure's p50 of 10 samples swung from 0.88x to 1.96x between runs)."""
        client, job, out = self.client, self.job, {}

        def timed(
            name: str, call: Any, n: int = samples, before: Any = None, after: Any = None, expect: int = 200
        ) -> None:
            times = []
            for _ in range(n + 1):
                if before is not None:
                    before()
                start = time.perf_counter()
                response = call()
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == expect, (name, response.status_code, response.content[:300])
                if after is not None:
                    after(response)
            out[name] = times[1:]

        for name, query in list_filters(self.ids).items():
            for page, where in ((1, "first page"), (DEEP_PAGE, f"page {DEEP_PAGE}")):
                url = f"/api/jobs/{job}/items/?page={page}&page_size={PAGE_SIZE}&{query}"
                timed(f"items list, {name}, {where}", lambda url=url: client.get(url))
        name = image_name(self.items // 2)[0]
        timed(
            "items list, q (one file name), first page",
            lambda: client.get(f"/api/jobs/{job}/items/?q={name}"),
        )
        timed("job (its progress counts)", lambda: client.get(f"/api/jobs/{job}/"))
        timed("jobs list (progress counts)", lambda: client.get("/api/jobs/"))
        timed("sync, nothing new", lambda: client.post(f"/api/jobs/{job}/sync/"))
        timed(
            "sync, 1,000 new images",
            lambda: client.post(f"/api/jobs/{job}/sync/"),
            before=self.new_images,
            after=self.new_images_remove,
        )
        timed("command on a random item (cold)", self.command, samples * 2, expect=201)
        return out

    def new_images(self) -> None:
        from apps.datasets.models import Image

        start, self.added = self.added * 1000, self.added + 1
        Image.objects.bulk_create(
            Image(
                dataset_id=self.ids["dataset_id"],
                file=f"new/{n}.jpg",
                name=f"new_{n}.jpg",
                path=f"new/{n}.jpg",
                width=640,
                height=480,
                checksum=f"n{n:063x}",
            )
            for n in range(start, start + 1000)
        )

    def new_images_remove(self, response: Any) -> None:
        """Remove the items the sync just added (`response`) and the images it added them for, and take
        them off the job's item tally, as if they had never been."""
        from apps.datasets.models import Image
        from apps.labeling import store
        from apps.labeling.models import Item
        from apps.labeling.readmodels import ITEMS

        assert response.json()["added"] == 1000, response.json()
        images = Image.objects.filter(dataset_id=self.ids["dataset_id"], path__startswith="new/")
        _, removed = Item.objects.filter(job_id=self.job, image__in=images).delete()
        assert removed.get("labeling.Item") == 1000, removed
        images.delete()
        store.job_tally_add(self.job, {ITEMS: -1000})

    def command(self) -> Any:
        item_id = self.rng.randint(1, self.items)
        shape_id = str(uuid.UUID(int=item_id * 1000))  # every item's first shape
        body = {
            "command_id": uuid.uuid4().hex,
            "command": {"type": "move_shape", "shape_id": shape_id, "dx": 1.0, "dy": 0.0},
        }
        return self.client.post(f"/api/items/{item_id}/commands/", body, format="json")


def plans(ids: dict[str, Any], items: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the main queries, as the views run them (docs/performance.md)."""
    from django.db import connection

    from apps.common.planning import read_through_indexes
    from apps.datasets.search import ids_statement
    from apps.labeling import selectors
    from apps.labeling.models import LabelingJob

    job = LabelingJob.objects.get(pk=ids["job_id"])
    cases = {
        "items list, no filter, page 20": ({}, True),
        "items list, status=unlabeled, page 20": ({"status": "unlabeled"}, True),
        "items list, hard_example, page 20": ({"hard_example": True}, True),
        "items list, label_class, page 20": ({"label_class_ids": [ids["label_id"]]}, True),
        "items list, labeled_by, page 20": ({"labeled_by": ids["labeler_id"]}, True),
        "items list, q (a batch folder), page 20": ({"q": "batch0007/"}, True),
        "items list, q (/a batch folder/), page 20": ({"q": "/batch0007/"}, True),
        "items list, q (one file name), first page": ({"q": image_name(items // 2)[0]}, False),
    }
    out = []
    with connection.cursor() as cursor:
        # A search's first statement: its images' ids, through the tokens or the trigrams, as it is run.
        for name, q in (
            ("one file name", image_name(items // 2)[0]),
            ("a batch folder", "batch0007/"),
            ("/a batch folder/", "/batch0007/"),
        ):
            sql, params = ids_statement(q).query.sql_with_params()
            with read_through_indexes():
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
                lines = "\n".join(row[0] for row in cursor.fetchall())
            out.append(f"-- items list, q ({name}): its images' ids\n{lines}\n")
        for name, (kwargs, deep) in cases.items():
            qs = selectors.item_list(job=job, **kwargs)
            offset = (DEEP_PAGE - 1) * PAGE_SIZE if deep else 0
            for title, query in (
                ("page", qs[offset : offset + PAGE_SIZE].query),
                ("count", qs.order_by().values("id").query),
            ):
                sql, params = query.sql_with_params()
                if title == "count":
                    sql = f"SELECT COUNT(*) FROM ({sql}) c"
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
                lines = "\n".join(row[0] for row in cursor.fetchall())
                out.append(f"-- {name}: {title}\n{lines}\n")
    return "\n".join(out)


def child(items: int) -> int:
    """Seed, check, write the plans, say "ready" (a JSON line of the job's ids); then run a round of
    figures for each "round <samples>" line read, printing its times as a JSON line, until "end"."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    ids = seed(items)
    print(f"scale {items:,}: seeded {ids['events']:,} events in {ids['seed_seconds']} s", file=sys.stderr)
    seeded_check(ids["job_id"], items)
    folder = ROOT / "var" / "bench" / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"plans-{items}.txt").write_text(plans(ids, items))
    measure = Measure(ids, items)
    print(json.dumps(ids), flush=True)
    for line in sys.stdin:
        if line.startswith("round"):
            print(json.dumps(measure.round(int(line.split()[1]))), flush=True)
        else:
            break
    # Again after the rounds, which added images and changed items: the plans the figures were taken on.
    (folder / f"plans-{items}-after.txt").write_text(plans(ids, items))
    return 0


# Comparing (parent) --------------------------------------------------------------------------------------


class Size:
    """One size's child process and database (a unique name, dropped by `close`)."""

    def __init__(self, items: int) -> None:
        import psycopg

        self.items = items
        self.database = f"polylog_scale_{os.getpid()}_{items}"
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.database}")
        env = {
            **os.environ,
            "DATABASE_URL": f"{SERVER}/{self.database}",
            "POLYLOG_VAR_DIR": str(ROOT / "var" / "bench" / "scale" / str(items)),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.scale", "--child", str(items)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.times: dict[str, list[float]] = {}
        self.ids = self._answer()

    def _answer(self) -> Any:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.items:,}-item child stopped (its error is above)")
        return json.loads(line)

    def round(self, samples: int) -> None:
        self.process.stdin.write(f"round {samples}\n")
        self.process.stdin.flush()
        for name, times in self._answer().items():
            self.times.setdefault(name, []).extend(times)

    def figures(self) -> dict[str, dict[str, float]]:
        return {
            name: {"p50": round(pct(times, 0.5), 2), "p95": round(pct(times, 0.95), 2)}
            for name, times in self.times.items()
        }

    def close(self) -> None:
        import psycopg

        if self.process.poll() is None:
            self.process.stdin.write("end\n")
            self.process.stdin.close()
            self.process.wait(timeout=120)
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


def run_sizes(sizes: list[int], rounds: int, samples: int) -> list[dict[str, Any]] | None:
    """Seed each size in turn, then run `rounds` rounds alternating between them (the order flips each
    round); {ids, figures} per size, or None if a child failed."""
    made: list[Size] = []
    try:
        for items in sizes:
            made.append(Size(items))
        for number in range(rounds):
            for size in made if number % 2 == 0 else made[::-1]:
                size.round(samples)
        return [{"ids": size.ids, "figures": size.figures()} for size in made]
    except (RuntimeError, json.JSONDecodeError, OSError) as error:
        print(f"scale benchmark failed: {error}", file=sys.stderr)
        return None
    finally:
        for size in made:
            size.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000, help="the large job's size")
    parser.add_argument("--base", type=int, default=10_000, help="the baseline job's size")
    parser.add_argument("--rounds", type=int, default=5, help="rounds alternating between the sizes")
    parser.add_argument("--samples", type=int, default=8, help="requests per figure and round")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    sys.path.insert(0, str(ROOT))
    from tests.bench.run import machine

    load_before = os.getloadavg()[0]
    both = run_sizes([args.base, args.items], args.rounds, args.samples)
    base, large = both or (None, None)
    label = f"{args.items / 1e6:g}M" if args.items >= 1_000_000 else f"{args.items / 1000:g}k"
    base_label = f"{args.base / 1000:g}k"
    if base is None or large is None:
        print(
            json.dumps(
                [
                    {
                        "name": "scale benchmark",
                        "value": "failed",
                        "unit": "",
                        "target": "",
                        "ok": False,
                        "database": "postgresql",
                    }
                ]
            )
        )
        return 1
    command = "make bench SCALE=1" if (args.items, args.base) == (1_000_000, 10_000) else " ".join(sys.argv)
    err = sys.stderr
    print(f"\npolylog scale benchmark: `{command}` on {machine()}", file=err)
    # The machine is shared: the load says how much else ran (a page's p50 in ms follows it, a ratio less).
    print(
        f"load average (1 min) at the start {load_before:.1f}, at the end {os.getloadavg()[0]:.1f}", file=err
    )
    print(
        f"seeding {args.items:,} items / {large['ids']['events']:,} events: {large['ids']['seed_seconds']} s "
        f"(COPY {large['ids']['copy_seconds']} s); {args.base:,}: {base['ids']['seed_seconds']} s\n",
        file=err,
    )
    widths = [48, 12, 12, 12, 12, 8, 10]
    header = [
        "figure",
        f"{base_label} p50 ms",
        f"{label} p50 ms",
        f"{base_label} p95",
        f"{label} p95",
        "ratio",
        "ok",
    ]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), file=err)
    print("  ".join("-" * w for w in widths), file=err)
    rows = [
        {
            "name": f"scale: seed {args.items:,} items, {large['ids']['events']:,} events",
            "value": large["ids"]["seed_seconds"],
            "unit": "s",
            "target": "< 600",
            "ok": large["ids"]["seed_seconds"] < 600,
            "database": "postgresql",
        }
    ]
    for name, small in base["figures"].items():
        big = large["figures"][name]
        ratio = big["p50"] / small["p50"]
        is_list = name.startswith("items list")
        ok = ratio <= 1.5 and (not is_list or big["p50"] <= 50)
        cells = [
            name,
            small["p50"],
            big["p50"],
            small["p95"],
            big["p95"],
            f"{ratio:.2f}",
            "yes" if ok else "NO",
        ]
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)), file=err)
        rows.append(
            {
                "name": f"scale {label}/{base_label}: {name}",
                "value": round(ratio, 2),
                "unit": "x",
                "target": "<= 1.5" + (", p50 <= 50 ms" if is_list else ""),
                "ok": ok,
                "database": "postgresql",
            }
        )
    print(
        f"\ntarget: ratio <= 1.5 (flat in N); an items-list page p50 <= 50 ms. In process through DRF's test "
        f"client,\n{args.rounds} rounds of {args.samples} requests a figure alternating between the sizes "
        "(tests/bench/scale.py);\nplans in var/bench/scale/plans-<N>.txt.",
        file=err,
    )
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
