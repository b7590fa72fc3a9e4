"""The stored path of an item's states gives what a plain replay of its log gives (hypothesis).

Random histories go through the command service (`item_command_handle`): three people label two items,
each person connected to this server process or to another one (whose cache this process never sees; it
keeps its own entry, which falls behind), and now and then this process restarts (an empty cache).
Snapshots fall every 2 to 5 events. After every command, the state this process would decide the next
command against (`state_current`: its cache, the events after it folded on, or a snapshot and the tail) and
every state it caches must be the replay of the log. At the end, each loader must give the replayed state at
every seq it is asked for: one seq (`state_load`, from the nearest snapshot), a state brought forward
(`state_advance`), the states before a run of seqs (`states_before`, the audit timeline's), and many items at
once (`states_load_many`, the exports'), with and without the cache.

The replay (tests/conftest.py `replay_log`) folds every stored event from the first with the pure domain,
reading no snapshot and no cache. On PostgreSQL the command path also folds the events that come with the
item's head onto a stale cached state; CI runs this module on both databases.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.labeling import services, store
from apps.labeling.domain import ItemState, Rejected
from apps.labeling.domain.commands import Command
from apps.labeling.models import Role, StoredEvent
from tests.conftest import LABEL_CLASSES, new_id, replay_log
from tests.unit.test_domain_properties import SHAPE_IDS, command

MAX_COMMANDS = 30
_jobs = itertools.count(1)


def real_labels(sent: Command, label_ids: dict[int, int]) -> Command:
    """The domain strategy names label classes 1, 2 (the job's two) and 3 (none of the job's)."""
    if getattr(sent, "label_class_id", None) is None:
        return sent
    return dataclasses.replace(sent, label_class_id=label_ids[sent.label_class_id])


def send(item: Any, actor_id: int, sent: Command, *, from_another_process: bool, items: list[Any]) -> None:
    # What this process has cached: another process appends without it, and this process keeps it.
    kept = {other.pk: store.state_cache.peek(other.pk) for other in items}
    if from_another_process:
        store.state_cache.clear()
    try:
        services.item_command_handle(item_id=item.pk, actor_id=actor_id, command=sent, command_id=new_id())
    except Rejected:
        pass
    finally:
        if from_another_process:
            store.state_cache.clear()
            for item_id, cached in kept.items():
                if cached is not None:
                    store.state_cache.put(item_id, cached)


def stored_hashes(item: Any) -> dict[int, str]:
    return dict(StoredEvent.objects.filter(item=item).values_list("seq", "hash"))


def assert_this_process_has_the_replayed_states(items: list[Any]) -> None:
    for item in items:
        # What the next command on the item would be decided against (a read: it changes no cache).
        replayed, hashes = replay_log(item), stored_hashes(item)
        state, last_hash = store.state_current(item.pk, store.item_head_read(item.pk))
        assert state == replayed, f"the current state of item {item.pk}"
        assert last_hash == hashes.get(replayed.seq, store.GENESIS_HASH)

        cached = store.state_cache.peek(item.pk)
        if cached is None:
            continue
        assert cached.state == replay_log(item, cached.seq), f"the cached state of item {item.pk}"
        assert cached.last_hash == hashes.get(cached.seq, store.GENESIS_HASH)


def assert_loaders_give_replayed_states(data: st.DataObject, items: list[Any]) -> None:
    replayed: dict[int, list[ItemState]] = {}
    for item in items:
        item.refresh_from_db()
        width, height = item.image.width, item.image.height
        states = replayed[item.pk] = [replay_log(item, seq) for seq in range(item.last_seq + 1)]
        assert states[-1].seq == item.last_seq
        hashes = stored_hashes(item)

        for seq, state in enumerate(states):
            assert store.state_load_with_hash(item.pk, width, height, seq) == (
                state,
                hashes.get(seq, store.GENESIS_HASH),
            ), f"state_load of item {item.pk} at seq {seq}"
        start = data.draw(st.integers(0, item.last_seq), label="advance from")
        upto = data.draw(st.integers(start, item.last_seq), label="advance to")
        assert store.state_advance(item.pk, states[start], upto) == states[upto]
        if item.last_seq:
            seqs = data.draw(st.sets(st.integers(1, item.last_seq), min_size=1), label="timeline seqs")
            span = data.draw(st.integers(1, item.last_seq), label="span")
            before = store.states_before(item.pk, width, height, sorted(seqs), span=span)
            assert before == [states[seq - 1] for seq in sorted(seqs)], f"states_before of item {item.pk}"

    # The bulk loader, at each item's end and at a seq before it (a head read before later commands).
    heads_at = {
        item.pk: data.draw(st.one_of(st.just(item.last_seq), st.integers(0, item.last_seq)), label="head")
        for item in items
    }
    heads = [(item.pk, item.image.width, item.image.height, heads_at[item.pk]) for item in items]
    expected = {item.pk: replayed[item.pk][heads_at[item.pk]] for item in items}
    assert store.states_load_many(heads) == expected, "states_load_many with this process's cache"
    store.state_cache.clear()
    assert store.states_load_many(heads) == expected, "states_load_many from the database alone"
    # Without history (the exports' read: a snapshot at the head is read without its undo stacks).
    store.state_cache.clear()
    shapes = {
        pk: (s.seq, s.shapes, s.saved) for pk, s in store.states_load_many(heads, history=False).items()
    }
    assert shapes == {pk: (s.seq, s.shapes, s.saved) for pk, s in expected.items()}, "without history"


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_the_stored_path_gives_the_states_of_a_plain_replay_of_the_log(
    data: st.DataObject, dataset: Any, manager: Any, annotator: Any, annotator2: Any
) -> None:
    every = data.draw(st.integers(2, 5), label="snapshot every")
    with override_settings(POLYLOG={**django_settings.POLYLOG, "SNAPSHOT_EVERY": every}):
        # Each example labels items of a new job: streams of its own, from seq 1.
        job = services.job_create(
            name=f"history {next(_jobs)}", dataset=dataset, created_by=manager, label_classes=LABEL_CLASSES
        )
        items = list(job.items.select_related("image").order_by("image__path"))[1:]  # 100x80 and 120x90
        cat, dog = (job.label_classes.get(name=label["name"]).pk for label in LABEL_CLASSES)
        label_ids = {1: cat, 2: dog, 3: max(cat, dog) + 1000}
        for person in (annotator, annotator2):  # commands are authorised: everyone labels in the job
            services.job_member_set(job=job, user=person, role=Role.ANNOTATOR)
        people = [manager.pk, annotator.pk, annotator2.pk]
        # Who works through another server process; at least the manager works through this one.
        elsewhere = {manager.pk: False} | {
            person: data.draw(st.booleans(), label="in another process") for person in people[1:]
        }
        store.state_cache.clear()

        item, actor = items[0], manager.pk
        for n in range(MAX_COMMANDS):
            # A "stop here" choice (rather than a length drawn up front) lets hypothesis shrink a failing
            # history by cutting commands out of its middle.
            if n >= 3 and data.draw(st.integers(0, 19), label="stop") == 0:
                break
            if data.draw(st.integers(0, 9), label="restart") == 0:
                store.state_cache.clear()
            # People tend to do several things in a row, on one image.
            item = data.draw(st.one_of(st.just(item), st.just(item), st.sampled_from(items)), label="item")
            actor = data.draw(
                st.one_of(st.just(actor), st.just(actor), st.sampled_from(people)), label="actor"
            )
            drawn = data.draw(command(replay_log(item), actor, SHAPE_IDS), label="command")
            sent = real_labels(drawn, label_ids)
            send(item, actor, sent, from_another_process=elsewhere[actor], items=items)
            assert_this_process_has_the_replayed_states(items)

        for item in items:
            assert store.chain_verify(item.pk) == []
        assert_loaders_give_replayed_states(data, items)
