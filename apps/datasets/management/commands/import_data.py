"""Add data from the command line: import a folder of the import root (the server share) into a dataset."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.common.errors import ApiError
from apps.datasets.imports import dataset_import_start, import_wait
from apps.datasets.models import DataImport, Dataset


class Command(BaseCommand):
    help = (
        "Import every image under a folder of the import root into a dataset; prints the counts and refusals."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("dataset", type=int, help="dataset id")
        parser.add_argument("path", help="folder below POLYLOG_IMPORT_ROOT (a relative path)")
        parser.add_argument("--user", required=True, help="username recorded as the importer")
        parser.add_argument("--timeout", type=float, default=3600.0)

    def handle(self, *args, dataset: int, path: str, user: str, timeout: float, **options) -> None:
        target = Dataset.objects.filter(pk=dataset).first()
        actor = get_user_model().objects.filter(username=user).first()
        if target is None or actor is None:
            raise CommandError("No such dataset or user.")
        try:
            record = dataset_import_start(dataset=target, actor=actor, path=path)
        except ApiError as refusal:
            raise CommandError(refusal.message) from None
        import_wait(record.pk, timeout)
        record.refresh_from_db()
        for error in record.errors:
            self.stdout.write(f"refused {error['file']}: {error['reason']}")
        self.stdout.write(
            f"import {record.pk} {record.status}: {record.added} added, {record.duplicates} duplicates, "
            f"{record.failed} failed"
        )
        if record.status != DataImport.Status.DONE:
            raise CommandError(f"import {record.pk} {record.status}")
