"""Snapshots of format 1 (before shapes had numbers) rewritten as format 2, from the event log.

A shape's number is the order of its creation among every shape the stream ever created, drafts that were
discarded included, so it cannot be read off an old snapshot: each stream that has old snapshots is
replayed from its first event and its snapshots are written again at the same seqs. This uses the domain
code of today on purpose (the snapshot format is the domain's); a later format brings its own migration.
"""

from django.db import migrations

from apps.labeling.domain import evolve, initial_state, state_to_dict
from apps.labeling.domain.events import event_from_record
from apps.labeling.domain.state import SNAPSHOT_FORMAT


def snapshots_rewrite(apps, schema_editor):
    Snapshot = apps.get_model("labeling", "Snapshot")
    Event = apps.get_model("labeling", "Event")
    Item = apps.get_model("labeling", "Item")
    stale: dict[int, set[int]] = {}
    for item_id, seq, state in Snapshot.objects.values_list("item_id", "seq", "state").iterator():
        if state.get("format") != SNAPSHOT_FORMAT:
            stale.setdefault(item_id, set()).add(seq)
    for item_id in sorted(stale):
        item = Item.objects.select_related("image").get(pk=item_id)
        wanted = set(Snapshot.objects.filter(item_id=item_id).values_list("seq", flat=True))
        state = initial_state(item.image.width, item.image.height)
        rows = Event.objects.filter(item_id=item_id).order_by("seq")
        for type_, version, payload, actor_id in rows.values_list(
            "type", "schema_version", "payload", "actor_id"
        ).iterator(chunk_size=2000):
            state = evolve(state, event_from_record(type_, version, payload, actor_id))
            if state.seq in wanted:
                Snapshot.objects.filter(item_id=item_id, seq=state.seq).update(state=state_to_dict(state))
                wanted.discard(state.seq)
        # A snapshot past the stream's end (a torn write) cannot be rebuilt; it goes, as rebuild_projections
        # would remove it.
        Snapshot.objects.filter(item_id=item_id, seq__in=wanted).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0004_label_slots"),
    ]

    operations = [
        migrations.RunPython(snapshots_rewrite, migrations.RunPython.noop),
    ]
