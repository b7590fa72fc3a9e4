"""A million images per job (issue 21): the items list's indexes put the filter's column between the job
and the id, over shown items only; the job's tallies gain the hard examples and each labeler (so those
filters' page counts come from them too); a job remembers up to which image it has synced."""

from django.db import migrations, models
from django.db.models import Count


def tallies_add(apps, schema_editor):
    """Count the new tallies of every existing job once (then every write keeps them)."""
    Item = apps.get_model("labeling", "Item")
    JobTally = apps.get_model("labeling", "JobTally")
    LabelingJob = apps.get_model("labeling", "LabelingJob")
    for job_id in LabelingJob.objects.values_list("id", flat=True):
        shown = Item.objects.filter(job_id=job_id, deleted_at__isnull=True).order_by()
        counts = {"hard": shown.filter(hard_example=True).count()}
        by_labeler = shown.filter(labeled_by__isnull=False).values_list("labeled_by").annotate(n=Count("id"))
        counts.update((f"labeled_by:{user_id}", n) for user_id, n in by_labeler)
        JobTally.objects.bulk_create(
            [JobTally(job_id=job_id, key=key, count=n) for key, n in counts.items() if n],
            ignore_conflicts=True,
        )


def tallies_remove(apps, schema_editor):
    JobTally = apps.get_model("labeling", "JobTally")
    JobTally.objects.filter(models.Q(key="hard") | models.Q(key__startswith="labeled_by:")).delete()


class Migration(migrations.Migration):
    dependencies = [("labeling", "0007_label_class_plural")]

    operations = [
        migrations.AddField(
            model_name="labelingjob",
            name="synced_image_id",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RemoveIndex(model_name="item", name="labeling_it_job_id_3224d6_idx"),
        migrations.RemoveIndex(model_name="item", name="labeling_it_job_id_8ad35d_idx"),
        migrations.RemoveIndex(model_name="item", name="labeling_it_job_id_d9b740_idx"),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(deleted_at__isnull=True), fields=["job", "id"], name="item_shown_in_job"
            ),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(deleted_at__isnull=True),
                fields=["job", "status", "id"],
                name="item_status_in_job",
            ),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(deleted_at__isnull=True),
                fields=["job", "hard_example", "id"],
                name="item_hard_in_job",
            ),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(deleted_at__isnull=True),
                fields=["job", "labeled_by", "id"],
                name="item_labeler_in_job",
            ),
        ),
        migrations.RunPython(tallies_add, tallies_remove),
    ]
