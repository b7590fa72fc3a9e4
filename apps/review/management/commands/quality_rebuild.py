"""Recount the quality report's read models of one job, or of every job, from the event log."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.labeling.models import LabelingJob
from apps.review.quality import quality_rebuild


class Command(BaseCommand):
    help = "Recount the quality figures (QualityDay, QualityMark) of a job, or of every job, from its events."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--job", type=int, help="one job's id (default: every job)")

    def handle(self, *args, job: int | None, **options) -> None:
        jobs = [job] if job else list(LabelingJob.objects.order_by("id").values_list("id", flat=True))
        for job_id in jobs:
            written = quality_rebuild(job_id)
            self.stdout.write(f"job {job_id}: {written['days']} day rows, {written['marks']} marks")
