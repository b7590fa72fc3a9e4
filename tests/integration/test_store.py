"""The event store under the command service: gap-free seqs under concurrency, idempotent retries, and a
stale state cache that never leads to a wrong seq."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection

from apps.labeling import services, store
from apps.labeling.domain import Rejected, replay
from apps.labeling.domain.commands import AddPolygon, AddVertex, DeleteShape, MarkHardExample, MoveShape, Save
from apps.labeling.domain.events import PolygonAdded
from apps.labeling.models import StoredEvent
from apps.labeling.store import hooks
from tests.conftest import new_id, replay_log, replay_view

THREADS = 2
COMMANDS_PER_THREAD = 30


def polygon(label_class_id: int, n: int) -> AddPolygon:
    x = 2.0 + (n % 9) * 10
    y = 2.0 + (n // 9) * 10
    points = ((x, y), (x + 5, y), (x + 5, y + 5))
    return AddPolygon(shape_id=new_id(), label_class_id=label_class_id, points=points)


def seqs_of(item: Any) -> list[int]:
    return list(StoredEvent.objects.filter(item=item).order_by("seq").values_list("seq", flat=True))


@pytest.mark.django_db(transaction=True)
def test_two_threads_appending_to_one_item_get_gap_free_unique_seqs(
    item: Any, labels: dict[str, Any], annotator: Any, annotator2: Any
) -> None:
    errors: list[BaseException] = []
    answered: list[int] = []
    answered_lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(actor_id: int, offset: int) -> None:
        try:
            start.wait()
            for n in range(COMMANDS_PER_THREAD):
                result = services.item_command_handle(
                    item_id=item.pk,
                    actor_id=actor_id,
                    command=polygon(labels["cat"].pk, offset + n),
                    command_id=new_id(),
                )
                with answered_lock:
                    answered.append(result.seq)
        except BaseException as error:  # noqa: BLE001 - reported to the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(annotator.pk, 0)),
        threading.Thread(target=work, args=(annotator2.pk, COMMANDS_PER_THREAD)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = THREADS * COMMANDS_PER_THREAD
    assert sorted(answered) == list(range(1, total + 1))
    assert seqs_of(item) == list(range(1, total + 1))
    assert store.chain_verify(item.pk) == []
    item.refresh_from_db()
    assert item.last_seq == total
    assert item.shape_count == total
    by_actor = StoredEvent.objects.filter(item=item).values_list("actor_id", flat=True)
    assert sorted(set(by_actor)) == sorted([annotator.pk, annotator2.pk])


@pytest.mark.django_db
def test_a_retried_command_id_is_applied_once_and_gets_the_same_answer(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    command = polygon(labels["cat"].pk, 0)
    command_id = new_id()

    first = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=command, command_id=command_id
    )
    again = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=command, command_id=command_id
    )

    assert first.replayed is False
    assert again.replayed is True
    assert again.body() == first.body()
    assert StoredEvent.objects.filter(item=item).count() == 1
    item.refresh_from_db()
    assert item.shape_count == 1


@pytest.mark.django_db
def test_a_retry_whose_command_would_now_be_refused_still_gets_the_original_answer(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    """The shape id now exists, so deciding again would refuse; the retry must answer from the log."""
    command = polygon(labels["cat"].pk, 0)
    command_id = new_id()
    first = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=command, command_id=command_id
    )
    services.item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=Save(), command_id=new_id())

    again = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=command, command_id=command_id
    )

    assert again.body() == first.body()
    assert seqs_of(item) == [1, 2]


@pytest.mark.django_db
def test_a_retry_with_a_stale_expected_seq_gets_the_original_answer_not_a_conflict(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    command = polygon(labels["cat"].pk, 0)
    command_id = new_id()
    first = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=command, command_id=command_id, expected_seq=0
    )

    again = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=command, command_id=command_id, expected_seq=0
    )

    assert again.body() == first.body()
    assert seqs_of(item) == [1]


def handle(item: Any, actor: Any, command: Any, capture: Any | None = None) -> int:
    """Send a command through the service; with `capture`, run its on-commit hooks (fills the cache)."""
    if capture is None:
        return services.item_command_handle(
            item_id=item.pk, actor_id=actor.pk, command=command, command_id=new_id()
        ).seq
    with capture(execute=True):
        return services.item_command_handle(
            item_id=item.pk, actor_id=actor.pk, command=command, command_id=new_id()
        ).seq


def assert_log_consistent(item: Any, seqs: int) -> None:
    """Gap-free seqs, an intact hash chain, and read models that match a replay of the log."""
    assert seqs_of(item) == list(range(1, seqs + 1))
    assert store.chain_verify(item.pk) == []
    replayed = replay_view(item)
    item.refresh_from_db()
    assert item.last_seq == replayed["seq"] == seqs
    assert item.shape_count == len(replayed["shapes"])
    assert item.label_class_ids == sorted({s["label_class_id"] for s in replayed["shapes"]})


def stale_cache_after_another_process_appends(item: Any, others: list[tuple[Any, Any]]) -> None:
    """Fill this process's cache at the item's current seq, let "another process" (an empty cache, the
    same database) append `others`, then put the stale entry back as this process still holds it."""
    item.refresh_from_db()
    stale = store.state_cache.get(item.pk, item.last_seq)
    assert stale is not None
    store.state_cache.clear()
    for actor, command in others:
        handle(item, actor, command)
    store.state_cache.clear()
    store.state_cache.put(item.pk, stale)


@pytest.mark.django_db
def test_a_cleared_cache_still_gives_the_next_seq(
    item: Any, labels: dict[str, Any], annotator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for n in range(3):
        handle(item, annotator, polygon(labels["cat"].pk, n), django_capture_on_commit_callbacks)
    assert store.state_cache.get(item.pk, 3) is not None
    store.state_cache.clear()

    assert handle(item, annotator, polygon(labels["cat"].pk, 3)) == 4

    assert_log_consistent(item, 4)


@pytest.mark.django_db
def test_a_stale_cached_state_catches_up_with_what_another_process_appended(
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    handle(item, annotator, polygon(labels["cat"].pk, 0), capture)
    stale_cache_after_another_process_appends(item, [(annotator2, polygon(labels["dog"].pk, 1))])

    assert handle(item, annotator, polygon(labels["cat"].pk, 2), capture) == 3

    assert_log_consistent(item, 3)
    assert item.label_class_ids == sorted([labels["cat"].pk, labels["dog"].pk])
    assert store.state_cache.get(item.pk, 3).state == replay_log(item)


@pytest.mark.django_db
def test_a_stale_cached_state_far_behind_is_reloaded(
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "SNAPSHOT_EVERY": 2}
    capture = django_capture_on_commit_callbacks
    handle(item, annotator, polygon(labels["cat"].pk, 0), capture)
    others = [(annotator2, polygon(labels["dog"].pk, n)) for n in range(1, 6)]
    stale_cache_after_another_process_appends(item, others)

    assert handle(item, annotator, Save(), capture) == 7

    assert_log_consistent(item, 7)
    assert item.shape_count == 6
    assert item.status == "labeled"


@pytest.mark.django_db
def test_a_stale_cache_that_missed_a_delete_does_not_resurrect_the_shape(
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The stale state still holds a shape another process deleted; commands on it must be refused."""
    capture = django_capture_on_commit_callbacks
    shape = polygon(labels["cat"].pk, 0)
    handle(item, annotator, shape, capture)
    stale_cache_after_another_process_appends(item, [(annotator2, DeleteShape(shape.shape_id))])

    with pytest.raises(Rejected) as refused:
        handle(item, annotator, MoveShape(shape.shape_id, 1.0, 1.0), capture)

    assert refused.value.code == "unknown_shape"
    assert_log_consistent(item, 2)
    assert replay_view(item)["shapes"] == []


@pytest.mark.django_db
def test_a_cached_state_ahead_of_the_database_is_not_trusted(
    item: Any, labels: dict[str, Any], annotator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A state at a seq the database never reached (say, restored from a backup since) is ignored."""
    capture = django_capture_on_commit_callbacks
    handle(item, annotator, polygon(labels["cat"].pk, 0), capture)
    real = store.state_cache.get(item.pk, 1)
    ahead = replay_log(item)
    for n in range(1, 4):
        ahead = replay(ahead, [PolygonAdded(annotator.pk, new_id(), labels["dog"].pk, polygon(0, n).points)])
    store.state_cache.put(item.pk, store.Cached(ahead.seq, ahead, "f" * 64))
    assert real is not None and ahead.seq == 4

    assert handle(item, annotator, Save(), capture) == 2

    assert_log_consistent(item, 2)
    assert item.shape_count == 1


@pytest.mark.django_db
def test_one_items_cached_state_is_never_used_for_another_item(
    items: list[Any], labels: dict[str, Any], annotator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first, second = items[1], items[2]
    with django_capture_on_commit_callbacks(execute=True):
        services.item_command_handle(
            item_id=first.pk, actor_id=annotator.pk, command=polygon(labels["cat"].pk, 0), command_id=new_id()
        )
    services.item_command_handle(
        item_id=second.pk, actor_id=annotator.pk, command=polygon(labels["cat"].pk, 1), command_id=new_id()
    )

    result = services.item_command_handle(
        item_id=second.pk, actor_id=annotator.pk, command=MarkHardExample(), command_id=new_id()
    )

    assert result.seq == 2
    second.refresh_from_db()
    assert second.shape_count == 1
    assert second.hard_example is True
    first.refresh_from_db()
    assert (first.last_seq, first.hard_example) == (1, False)


@pytest.mark.django_db
def test_a_refused_command_appends_nothing_and_leaves_the_cache_consistent(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=AddVertex(new_id(), 5.0, 5.0), command_id=new_id()
    )

    with pytest.raises(Rejected) as refused:
        services.item_command_handle(
            item_id=item.pk,
            actor_id=annotator.pk,
            command=AddVertex(new_id(), 500.0, 5.0),
            command_id=new_id(),
        )

    assert refused.value.code == "polygon_outside_image"
    result = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=AddVertex(new_id(), 6.0, 6.0), command_id=new_id()
    )
    assert result.seq == 2
    assert seqs_of(item) == [1, 2]


def _twin_commits_while_the_retry_waits_for_the_lock(
    item: Any, actor_id: int, first_command: Any, retried_command: Any, command_id: str
) -> tuple[Any, Any]:
    """(the first application's result, the retry's) when the first holds the item's lock until the retry
    waits for it, and then commits: the retry read the head, and began its write, before the twin
    committed."""
    from django.db import connections, transaction

    results: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                store.item_head_lock(item.pk)
                locked.set()
                waiting.wait(30)
                results["first"] = services.item_command_handle(
                    item_id=item.pk, actor_id=actor_id, command=first_command, command_id=command_id
                )
        finally:
            connections.close_all()

    def retry() -> None:
        try:
            results["retry"] = services.item_command_handle(
                item_id=item.pk, actor_id=actor_id, command=retried_command, command_id=command_id
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results["retry"] = exc
        finally:
            connections.close_all()

    locked, waiting = threading.Event(), threading.Event()
    threads = [threading.Thread(target=first), threading.Thread(target=retry)]
    threads[0].start()
    assert locked.wait(30)
    threads[1].start()
    # Release the first once the retry waits on the item's row lock (its compare-and-set UPDATE does).
    with connection.cursor() as cursor:
        for _ in range(600):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
    waiting.set()
    for thread in threads:
        thread.join(30)
    return results["first"], results["retry"]


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers: no twin can commit during the lock"
)


@contextlib.contextmanager
def statements_seen() -> Iterator[list[bool]]:
    """One entry per statement run on this thread's connection: whether it ran inside a transaction.
    The tests count statements (each is a round trip) and never read their SQL, which is the store's own."""
    seen: list[bool] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(connection.in_atomic_block)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_twin_committed_during_the_lock_wait_answers_a_retry_that_would_now_be_refused(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    command = polygon(labels["cat"].pk, 0)  # deciding it again: "that shape already exists"

    first, retry = _twin_commits_while_the_retry_waits_for_the_lock(
        item, annotator.pk, command, command, "twin-refused"
    )

    assert not isinstance(retry, Exception), retry
    assert retry.body() == first.body() and retry.replayed
    assert seqs_of(item) == [1]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_twin_committed_during_the_lock_wait_answers_a_retry_that_would_apply_again(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    drawn = polygon(labels["cat"].pk, 0)
    services.item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=drawn)
    command = MoveShape(shape_id=drawn.shape_id, dx=1.0, dy=0.0)  # deciding it again moves it again

    first, retry = _twin_commits_while_the_retry_waits_for_the_lock(
        item, annotator.pk, command, command, "twin-applies"
    )

    assert not isinstance(retry, Exception), retry
    assert retry.body() == first.body() and retry.replayed
    assert seqs_of(item) == [1, 2]
    assert StoredEvent.objects.get(item=item, seq=2).payload["dx"] == 1.0


# The optimistic write: read the head without a lock, decide, compare-and-set on last_seq -------------


def _with_writes_after_the_first_reads(monkeypatch: Any, write: Any, times: int = 1) -> list[bool]:
    """Make `write()` happen between each of the command's first `times` head reads and its write, as
    another process's commands would; returns the `lock` flag of every head read."""
    real_read = store.item_head_read
    locks: list[bool] = []
    writing = threading.local()

    def read(*args: Any, lock: bool = False, **kwargs: Any) -> Any:
        head = real_read(*args, lock=lock, **kwargs)
        if getattr(writing, "now", False):  # the other write's own read
            return head
        locks.append(lock)
        if len(locks) <= times:
            writing.now = True
            write()
            writing.now = False
        return head

    monkeypatch.setattr(store, "item_head_read", read)
    return locks


@pytest.mark.parametrize(
    ("overtaken", "locks_seen"),
    [
        (1, [False, False]),  # decided again optimistically
        (2, [False, False, True]),  # then under the row lock, where nobody can overtake it
    ],
)
@pytest.mark.django_db
def test_a_command_overtaken_between_its_read_and_its_write_is_decided_again(
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    monkeypatch: Any,
    overtaken: int,
    locks_seen: list[bool],
) -> None:
    drawn = polygon(labels["cat"].pk, 0)
    services.item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=drawn)
    locks = _with_writes_after_the_first_reads(
        monkeypatch,
        lambda: services.item_command_handle(
            item_id=item.pk, actor_id=annotator2.pk, command=MoveShape(drawn.shape_id, 1.0, 0.0)
        ),
        times=overtaken,
    )

    result = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=MoveShape(drawn.shape_id, 0.0, 2.0), command_id="late"
    )

    assert locks == locks_seen
    last = 2 + overtaken
    assert result.seq == last
    assert seqs_of(item) == list(range(1, last + 1))
    assert store.chain_verify(item.pk) == []
    item.refresh_from_db()
    assert item.last_seq == last
    moved = replay_log(item).shapes[drawn.shape_id].points[0]
    # every move, once each
    assert moved == (drawn.points[0][0] + overtaken * 1.0, drawn.points[0][1] + 2.0)


@pytest.mark.django_db
def test_an_item_deleted_between_a_commands_read_and_its_write_gets_nothing_appended(
    item: Any, labels: dict[str, Any], annotator: Any, manager: Any, monkeypatch: Any
) -> None:
    drawn = polygon(labels["cat"].pk, 0)
    services.item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=drawn)
    _with_writes_after_the_first_reads(
        monkeypatch, lambda: services.items_delete(items=[item], actor=manager)
    )

    with pytest.raises(Rejected) as refused:
        services.item_command_handle(
            item_id=item.pk, actor_id=annotator.pk, command=MoveShape(drawn.shape_id, 1.0, 0.0)
        )

    assert refused.value.code == "item_deleted"
    assert seqs_of(item) == [1]
    item.refresh_from_db()
    assert item.last_seq == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_vertex_is_two_statements_and_no_transaction(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    shape_id = new_id()
    services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=AddVertex(shape_id, 5.0, 5.0)
    )
    with statements_seen() as statements:
        result = services.item_command_handle(
            item_id=item.pk, actor_id=annotator.pk, command=AddVertex(shape_id, 6.0, 5.0), command_id=new_id()
        )

    # The head (with the command_id check) and the write (a compare-and-set UPDATE whose INSERT reads it).
    assert statements == [False, False]
    assert result.seq == 2
    assert seqs_of(item) == [1, 2]
    item.refresh_from_db()
    assert item.last_seq == 2


def prepared_statements_run() -> int:
    """How many times this connection has run a statement it prepared (each run plans it once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements")
        return int(cursor.fetchone()[0])


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_command_paths_statements_are_prepared(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    """Outside a test's transaction (no savepoints) every command runs the same statements: after a few,
    each is prepared, and the next command runs nothing but prepared statements."""
    shape_id = new_id()

    def vertex(x: float) -> None:
        services.item_command_handle(
            item_id=item.pk, actor_id=annotator.pk, command=AddVertex(shape_id, x, 5.0), command_id=new_id()
        )

    for n in range(8):
        vertex(5.0 + n)
    before = prepared_statements_run()
    with statements_seen() as statements:
        vertex(20.0)

    assert len(statements) == 2
    assert prepared_statements_run() - before == len(statements)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_events_another_process_appended_come_with_the_head(
    item: Any,
    labels: dict[str, Any],
    annotator: Any,
    annotator2: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    shape_id = new_id()
    handle(item, annotator, AddVertex(shape_id, 5.0, 5.0), capture)
    others = [(annotator2, polygon(labels["dog"].pk, 1)), (annotator2, polygon(labels["dog"].pk, 2))]
    stale_cache_after_another_process_appends(item, others)
    with statements_seen() as statements:
        assert handle(item, annotator, AddVertex(shape_id, 6.0, 5.0), capture) == 4

    # The head with the two events after the cached state, then the write: no separate read of the events.
    assert len(statements) == 2
    assert_log_consistent(item, 4)
    assert store.state_cache.get(item.pk, 4).state == replay_log(item)


def assert_label_rows_and_tallies_match_the_log(item: Any) -> None:
    from apps.labeling.models import ItemLabel
    from apps.labeling.readmodels import job_tally_count, job_tally_read, label_counts

    rows = dict(ItemLabel.objects.filter(item=item).values_list("label_class_id", "shape_count"))
    assert rows == label_counts(replay_log(item))
    tallies = {key: count for key, count in job_tally_read(item.job_id).items() if count}
    assert tallies == {key: count for key, count in job_tally_count(item.job_id).items() if count}


@pytest.mark.django_db
def test_an_overtaken_command_that_changes_labels_counts_them_once(
    item: Any, labels: dict[str, Any], annotator: Any, annotator2: Any, monkeypatch: Any
) -> None:
    _with_writes_after_the_first_reads(
        monkeypatch,
        lambda: services.item_command_handle(
            item_id=item.pk, actor_id=annotator2.pk, command=polygon(labels["dog"].pk, 1)
        ),
    )

    result = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=polygon(labels["cat"].pk, 0), command_id=new_id()
    )

    assert result.seq == 2
    assert_log_consistent(item, 2)
    assert_label_rows_and_tallies_match_the_log(item)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_command_that_changes_labels_writes_them_in_its_one_statement(
    item: Any, labels: dict[str, Any], annotator: Any
) -> None:
    drawn = polygon(labels["cat"].pk, 0)
    services.item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=drawn)
    services.item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=Save())
    with statements_seen() as statements:
        # Deleting the one shape: a label row goes, and the tallies of the label and of "labeled" move.
        services.item_command_handle(
            item_id=item.pk, actor_id=annotator.pk, command=DeleteShape(drawn.shape_id), command_id=new_id()
        )
        services.item_command_handle(item_id=item.pk, actor_id=annotator.pk, command=Save())

    # Each is two statements, the head and one write with its label rows and tallies, outside any
    # transaction (this process's map of the job's label slots is current: no read of them).
    assert statements == [False] * 4
    assert_log_consistent(item, 4)
    assert item.status == "unlabeled"
    assert_label_rows_and_tallies_match_the_log(item)


def deadlock() -> OperationalError:
    """What Django raises when PostgreSQL picks this transaction as a deadlock's victim (and rolls it back)."""
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


@pytest.mark.django_db
def test_a_command_picked_as_a_deadlocks_victim_is_decided_again_and_stored_once(
    item: Any, labels: dict[str, Any], annotator: Any, monkeypatch: Any
) -> None:
    real, failures = store.commit, [deadlock()]

    def victim_once(*args: Any, **kwargs: Any) -> bool:
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "commit", victim_once)
    result = services.item_command_handle(
        item_id=item.pk, actor_id=annotator.pk, command=polygon(labels["cat"].pk, 0), command_id="c1"
    )

    assert failures == []
    assert result.seq == 1
    assert seqs_of(item) == [1]
    item.refresh_from_db()
    assert item.last_seq == 1


@pytest.mark.django_db
def test_any_other_database_failure_of_a_command_is_raised_not_retried(
    item: Any, labels: dict[str, Any], annotator: Any, monkeypatch: Any
) -> None:
    calls: list[int] = []

    def broken(*args: Any, **kwargs: Any) -> bool:
        calls.append(1)
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(store, "commit", broken)
    with pytest.raises(OperationalError):
        services.item_command_handle(
            item_id=item.pk, actor_id=annotator.pk, command=polygon(labels["cat"].pk, 0)
        )

    assert calls == [1]
    assert seqs_of(item) == []


@postgresql_only
@pytest.mark.django_db
def test_on_postgresql_the_one_statement_write_runs_the_read_models_statements_in_their_order(
    item: Any, labels: dict[str, Any], annotator: Any, monkeypatch: Any
) -> None:
    """The job's shared rows (tallies, then quality counters) must be locked in one order by the
    one-statement write and by the transaction's: PostgreSQL runs a WITH's unread data-modifying parts
    last-listed first, which once deadlocked two commands on different items (the soak test)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE write_order (n bigserial, name text)")

    def probe(appended: Any, when: str) -> list[tuple[str, list[Any]]]:
        guard = f" WHERE {when}" if when else ""
        return [(f"INSERT INTO write_order (name) SELECT %s{guard}", [name]) for name in ("first", "second")]

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        written.extend([sql] if "write_order" in sql else [])
        return execute(sql, params, many, context)

    monkeypatch.setattr(hooks, "row_writers", [*hooks.row_writers, probe])
    written: list[str] = []
    with connection.execute_wrapper(record):
        services.item_command_handle(
            item_id=item.pk, actor_id=annotator.pk, command=AddVertex(new_id(), 5, 5)
        )

    assert len(written) == 1 and written[0].startswith("WITH"), "one statement wrote the event and the rows"
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM write_order ORDER BY n")
        assert [name for (name,) in cursor.fetchall()] == ["first", "second"]
