"""Replay every stream, compare with stored snapshots and read models, report and repair differences."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.labeling.projections import projections_rebuild


class Command(BaseCommand):
    help = "Rebuild snapshots and read models from the event log; report every difference and repair it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="report only; exit 1 on any difference")
        parser.add_argument(
            "--item", type=int, action="append", dest="items", help="only this item (repeatable)"
        )

    def handle(self, *args, check: bool, items: list[int] | None, **options) -> None:
        report = projections_rebuild(repair=not check, item_ids=items)
        for line in report.differences:
            self.stdout.write(line)
        verb = "found" if check else "repaired"
        self.stdout.write(
            f"{report.items} items, {report.events} events replayed; {len(report.differences)} differences {verb}"
        )
        if check and report.differences:
            raise CommandError(f"{len(report.differences)} differences between the log and its projections")
