"""Seed a browser-test server's database: the demo job (generated photos), two annotators, a few labels.

Run in the server's environment (its own POLYLOG_VAR_DIR) as `python -m tests.browser.seed --photos DIR`;
prints one JSON line with the ids the tests need.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from pathlib import Path

PASSWORD = "browser-test-pass"
ANNOTATORS = ("ann", "bob")


def seed(photos: Path) -> dict[str, object]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.labeling.domain import parse_command
    from apps.labeling.management.commands.seed_demo import DEMO_JOB, DEMO_USERNAME
    from apps.labeling.models import LabelingJob, Role
    from apps.labeling.services import item_command_handle, job_member_set

    call_command("seed_demo", photos=photos, verbosity=0)
    user_model = get_user_model()
    demo = user_model.objects.get(username=DEMO_USERNAME)
    job = LabelingJob.objects.get(name=DEMO_JOB)
    people = {}
    for name in ANNOTATORS:
        person, created = user_model.objects.get_or_create(username=name)
        if created:
            person.set_password(PASSWORD)
            person.save()
        job_member_set(job=job, user=person, role=Role.ANNOTATOR)
        people[name] = person.pk
    labels = {label.name: label.pk for label in job.label_classes.all()}
    items = list(job.items.select_related("image").order_by("image__path"))

    def run(item_id: int, actor_id: int, command: dict[str, object]) -> None:
        item_command_handle(
            item_id=item_id, actor_id=actor_id, command=parse_command(command), command_id=str(uuid.uuid4())
        )

    # Three labeled images (the last three), by two people, one of them a hard example: the filters of the
    # job page have something to find, and the first images stay unlabeled for the drawing tests.
    labeled = [(items[-1], demo.pk, "person"), (items[-2], people["ann"], "car"), (items[-3], demo.pk, "car")]
    for item, actor, label in labeled:
        if item.last_seq:
            continue
        square = [[100, 100], [300, 100], [300, 250], [100, 250]]
        run(
            item.pk,
            actor,
            {
                "type": "add_polygon",
                "shape_id": str(uuid.uuid4()),
                "label_class_id": labels[label],
                "points": square,
            },
        )
        run(item.pk, actor, {"type": "save"})
    if not items[-1].hard_example:
        run(items[-1].pk, demo.pk, {"type": "mark_hard_example"})
    return {
        "job_id": job.pk,
        "dataset_id": job.dataset_id,
        "users": {DEMO_USERNAME: demo.pk, **people},
        "labels": labels,
        "items": [{"id": i.pk, "name": i.image.name} for i in items],
        "labeled": [{"id": item.pk, "label": label, "by": actor} for item, actor, label in labeled],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    print(json.dumps(seed(args.photos)))


if __name__ == "__main__":
    main()
