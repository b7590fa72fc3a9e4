"""Quality figures (docs/review.md "Quality"), counted from the events as they are appended.

Each command's events are counted here, in the transaction that appends them (labeling's row-writer hook,
registered in ReviewConfig.ready): one upsert of each concerned person's QualityDay row, and one
QualityMark row per unit of a figure naming the event behind it. The report (`quality_report`) then reads
a job's QualityDay rows only: a few rows per person and day, whatever the number of events.

What counts, per person (the person "credited"):
- labeled: a save holding at least one shape, by someone who was not the image's labeler before it (the
  items list's "Labeled by" becomes them): an image counts once however often its labeler saves it again;
- accepted / rejected: a review_accepted / review_rejected on an image they were the labeler of;
- issues_received: an issue_opened by someone else on an image they were the labeler of;
- rework: a save of an image that stood rejected, credited to its labeler before that save (a rejection
  followed by a new save is one round);
- shapes / vertices: a polygon they closed (the draft's vertices) or added whole;
- reviews_accepted / reviews_rejected: the review decisions they sent;
- events, saves: their events, their saves;
- active time: the gap before each of their commands that follows their previous command in the job on the
  same UTC day by at most POLYLOG_QUALITY_IDLE_GAP_SECONDS (a longer gap is a pause and adds nothing).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import connection

from apps.labeling.domain import ItemState
from apps.labeling.domain.events import event_type
from apps.labeling.store.hooks import Appended, Statement

from .quality_models import QualityDay, QualityMark

# QualityDay's counters, in the order of its upsert; active_ms and last_ms are handled apart.
COUNTERS = (
    "events",
    "saves",
    "labeled",
    "accepted",
    "rejected",
    "issues_received",
    "rework",
    "shapes",
    "vertices",
    "reviews_accepted",
    "reviews_rejected",
)
# The figures that have QualityMark rows (the others: events and saves are every/each save event, and
# active time is the person's events of the day, which the events list reads from the log itself).
MARKED = (
    "labeled",
    "accepted",
    "rejected",
    "issues_received",
    "rework",
    "shapes",
    "reviews_accepted",
    "reviews_rejected",
)
REJECTED = "rejected"


def idle_gap_ms() -> int:
    return int(settings.POLYLOG["QUALITY_IDLE_GAP_SECONDS"]) * 1000


def review_status(state: ItemState) -> str:
    review = getattr(state, "review", None)
    return getattr(review, "status", "none")


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class Counted:
    """What one command adds: counters per person, and the marks (person, figure, seq, value)."""

    counters: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    marks: list[tuple[int, str, int, int]] = field(default_factory=list)

    def add(self, person: int, figure: str, seq: int, value: int = 1) -> None:
        self.counters[person][figure] += value
        if figure in MARKED:
            self.marks.append((person, figure, seq, value))


def count(appended: Appended) -> Counted:
    """The figures a command's events add, from the states around each event (pure)."""
    out = Counted()
    actor = appended.actor_id
    out.counters[actor]["events"] += len(appended.events)
    labeler = appended.labeled_by_before
    for n, event in enumerate(appended.events):
        seq = appended.first_seq + n
        before, after = appended.states[n], appended.states[n + 1]
        kind = event_type(event)
        who = getattr(event, "actor", actor)
        if kind == "saved":
            out.counters[who]["saves"] += 1
            if review_status(before) == REJECTED and labeler is not None:
                out.add(labeler, "rework", seq)
            holds = bool(after.saved)
            if holds and labeler != who:
                out.add(who, "labeled", seq)
            labeler = who if holds else None
        elif kind in ("review_accepted", "review_rejected"):
            verdict = "accepted" if kind == "review_accepted" else "rejected"
            out.add(who, f"reviews_{verdict}", seq)
            if labeler is not None:
                out.add(labeler, verdict, seq)
        elif kind == "issue_opened":
            if labeler is not None and labeler != who:
                out.add(labeler, "issues_received", seq)
        elif kind in ("polygon_closed", "polygon_added"):
            shape = after.shapes.get(event.shape_id)  # type: ignore[union-attr]
            if shape is not None:  # the mark's value is the shape's vertices
                out.counters[who]["shapes"] += 1
                out.counters[who]["vertices"] += len(shape.points)
                out.marks.append((who, "shapes", seq, len(shape.points)))
    return out


def _typed(db_vendor: str, kind: str) -> str:
    """A parameter's placeholder; PostgreSQL needs the type where a VALUES column may be all NULL."""
    if db_vendor != "postgresql":
        return "%s"
    return {"date": "%s::date", "bigint": "%s::bigint"}.get(kind, "%s")


def _values(rows: list[list[Any]], kinds: list[str], when: str) -> str:
    vendor = connection.vendor
    one = "(" + ", ".join(_typed(vendor, kind) for kind in kinds) + ")"
    values = "VALUES " + ", ".join([one] * len(rows))
    return f"SELECT * FROM ({values}) v WHERE {when}" if when else values


def statements(appended: Appended, when: str) -> list[Statement]:
    """The row writer labeling runs in the command's transaction (store/hooks.py)."""
    counted = count(appended)
    day = connection.ops.adapt_datefield_value(utc_day(appended.at))
    now_ms = epoch_ms(appended.at)
    table = connection.ops.quote_name(QualityDay._meta.db_table)
    columns = ["job_id", "person_id", "day", "last_ms", "active_ms", *COUNTERS]
    kinds = ["bigint"] * len(columns)
    kinds[2] = "date"
    rows = [
        [
            appended.job_id,
            person,
            day,
            now_ms if person == appended.actor_id else None,
            0,
            *(counters.get(name, 0) for name in COUNTERS),
        ]
        for person, counters in sorted(counted.counters.items())  # rows locked in one order: no deadlock
    ]
    cut = idle_gap_ms()
    gap = f"excluded.last_ms - {table}.last_ms"
    sets = [
        f"active_ms = {table}.active_ms + CASE WHEN excluded.last_ms > {table}.last_ms"
        f" AND {gap} <= {cut} THEN {gap} ELSE 0 END",
        f"last_ms = CASE WHEN {table}.last_ms IS NULL OR excluded.last_ms > {table}.last_ms"
        f" THEN COALESCE(excluded.last_ms, {table}.last_ms) ELSE {table}.last_ms END",
        *(f"{name} = {table}.{name} + excluded.{name}" for name in COUNTERS),
    ]
    out: list[Statement] = [
        (
            f"INSERT INTO {table} ({', '.join(columns)}) {_values(rows, kinds, when)} "
            f"ON CONFLICT (job_id, person_id, day) DO UPDATE SET {', '.join(sets)}",
            [value for row in rows for value in row],
        )
    ]
    if counted.marks:
        marks = connection.ops.quote_name(QualityMark._meta.db_table)
        mark_rows = [
            [appended.job_id, person, figure, day, appended.item_id, seq, value]
            for person, figure, seq, value in counted.marks
        ]
        out.append(
            (
                f"INSERT INTO {marks} (job_id, person_id, figure, day, item_id, seq, value) "
                + _values(
                    mark_rows, ["bigint", "bigint", "text", "date", "bigint", "bigint", "bigint"], when
                ),
                [value for row in mark_rows for value in row],
            )
        )
    return out


# The report -----------------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def person_figures(totals: Mapping[str, int]) -> dict[str, Any]:
    """A person's figures from their summed counters (the same for a day or the whole job)."""
    return {
        "labeled": totals["labeled"],
        "accepted": totals["accepted"],
        "rejected": totals["rejected"],
        "issues_received": totals["issues_received"],
        "issues_per_image": _ratio(totals["issues_received"], totals["labeled"]),
        "rework": totals["rework"],
        "active_seconds": round(totals["active_ms"] / 1000, 1),
        "shapes": totals["shapes"],
        "vertices": totals["vertices"],
        "vertices_per_shape": _ratio(totals["vertices"], totals["shapes"]),
        "reviews_accepted": totals["reviews_accepted"],
        "reviews_rejected": totals["reviews_rejected"],
        "saves": totals["saves"],
        "events": totals["events"],
    }


def quality_report(job_id: int) -> dict[str, Any]:
    """The job's quality report from its QualityDay rows: per person their totals and their days, per day
    the review throughput (decisions sent that day, by anyone)."""
    from django.contrib.auth import get_user_model

    names = ["active_ms", *COUNTERS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT person_id, day, {', '.join(names)} FROM {QualityDay._meta.db_table}"
            " WHERE job_id = %s ORDER BY person_id, day",
            [job_id],
        )
        rows = cursor.fetchall()
    people: dict[int, dict[str, Any]] = {}
    throughput: dict[str, dict[str, int]] = {}
    for person, day, *values in rows:
        day = day if isinstance(day, str) else day.isoformat()
        counters = dict(zip(names, values, strict=True))
        entry = people.setdefault(person, {"totals": Counter(), "days": []})
        entry["totals"].update(counters)
        entry["days"].append({"day": day, **person_figures(counters)})
        if counters["reviews_accepted"] or counters["reviews_rejected"]:
            tally = throughput.setdefault(day, {"day": day, "accepted": 0, "rejected": 0})
            tally["accepted"] += counters["reviews_accepted"]
            tally["rejected"] += counters["reviews_rejected"]
    usernames = dict(get_user_model().objects.filter(pk__in=list(people)).values_list("pk", "username"))
    return {
        "job_id": job_id,
        "idle_gap_seconds": idle_gap_ms() // 1000,
        "people": [
            {
                "id": person,
                "username": usernames.get(person, f"user {person}"),
                **person_figures({name: entry["totals"].get(name, 0) for name in names}),
                "days": entry["days"],
            }
            for person, entry in sorted(people.items(), key=lambda p: usernames.get(p[0], ""))
        ],
        "throughput": [throughput[day] for day in sorted(throughput)],
    }


# Rebuild -----------------------------------------------------------------------------------------------


def quality_rebuild(job_id: int, *, batch: int = 200) -> dict[str, int]:
    """Recount a job's QualityDay and QualityMark rows from its event log and store them in place of the
    ones there (for a job whose events were written before these read models, or to repair them): each
    event counted by `count` as its command was, and active time from the events' times in order. One
    transaction; the marks are written as each run of `batch` items is counted. Returns the rows written."""
    from django.db import transaction

    from apps.labeling.domain import event_from_record, evolve, initial_state
    from apps.labeling.models import Item, StoredEvent

    counters: dict[tuple[int, date], Counter[str]] = defaultdict(Counter)
    stamps: dict[tuple[int, date], list[int]] = defaultdict(list)
    written = 0
    items = list(
        Item.objects.filter(job_id=job_id).order_by("id").values_list("id", "image__width", "image__height")
    )
    with transaction.atomic():
        QualityDay.objects.filter(job_id=job_id).delete()
        QualityMark.objects.filter(job_id=job_id).delete()
        for start in range(0, len(items), batch):
            chunk = {item_id: (w, h) for item_id, w, h in items[start : start + batch]}
            marks: list[tuple[Any, ...]] = []
            rows = (
                StoredEvent.objects.filter(item_id__in=list(chunk))
                .order_by("item_id", "seq")
                .values_list("item_id", "seq", "type", "schema_version", "payload", "actor_id", "created_at")
            )
            state: ItemState | None = None
            current, labeler = None, None
            for item_id, seq, kind, version, payload, actor, at in rows.iterator(chunk_size=5000):
                if item_id != current:
                    current, labeler = item_id, None
                    state = initial_state(*chunk[item_id])
                assert state is not None
                event = event_from_record(kind, version, payload, actor)
                after = evolve(state, event)
                appended = Appended(
                    job_id=job_id,
                    item_id=item_id,
                    actor_id=actor,
                    at=at,
                    first_seq=seq,
                    events=(event,),
                    states=(state, after),
                    labeled_by_before=labeler,
                )
                day = utc_day(at)
                counted = count(appended)
                for person, figures in counted.counters.items():
                    counters[(person, day)].update(figures)
                if counted.marks:
                    stored_day = connection.ops.adapt_datefield_value(day)
                    marks += [(job_id, p, f, stored_day, item_id, s, v) for p, f, s, v in counted.marks]
                stamps[(actor, day)].append(epoch_ms(at))
                if kind == "saved":
                    labeler = actor if after.saved else None
                state = after
            if marks:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {QualityMark._meta.db_table}"
                        " (job_id, person_id, figure, day, item_id, seq, value) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        marks,
                    )
            written += len(marks)
        cut = idle_gap_ms()
        days = []
        for (person, day), figures in counters.items():
            times = sorted(stamps.get((person, day), ()))
            active = sum(b - a for a, b in zip(times, times[1:], strict=False) if b - a <= cut)
            days.append(
                QualityDay(
                    job_id=job_id,
                    person_id=person,
                    day=day,
                    active_ms=active,
                    last_ms=times[-1] if times else None,
                    **{name: figures.get(name, 0) for name in COUNTERS},
                )
            )
        QualityDay.objects.bulk_create(days, batch_size=5000)
    return {"days": len(days), "marks": written}
