"""Issue 24: the reviewer role and the items' review read models (review_status, open_issues).

No stream holds a review event yet, so an item's review status is what its saves made it: "to_review"
for a labeled item (its last save holds a shape), "none" otherwise; no item has an issue. The jobs'
"review:to_review" tallies are counted to match (readmodels.review_key)."""

from django.db import migrations, models


def review_from_saves(apps, schema_editor):
    Item = apps.get_model("labeling", "Item")
    JobTally = apps.get_model("labeling", "JobTally")
    Item.objects.filter(status="labeled").update(review_status="to_review")
    counts = (
        Item.objects.filter(deleted_at__isnull=True, review_status="to_review")
        .order_by()
        .values_list("job_id")
        .annotate(n=models.Count("id"))
    )
    JobTally.objects.filter(key__startswith="review:").delete()
    JobTally.objects.bulk_create(
        JobTally(job_id=job_id, key="review:to_review", count=n) for job_id, n in counts if n
    )


def review_forgotten(apps, schema_editor):
    apps.get_model("labeling", "JobTally").objects.filter(key__startswith="review:").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0011_item_attributes"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="open_issues",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="item",
            name="review_status",
            field=models.CharField(
                choices=[
                    ("none", "Not labeled yet"),
                    ("to_review", "To review"),
                    ("accepted", "Accepted"),
                    ("rejected", "Rejected"),
                ],
                default="none",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="jobmember",
            name="role",
            field=models.CharField(
                choices=[
                    ("manager", "Manager"),
                    ("annotator", "Annotator"),
                    ("reviewer", "Reviewer"),
                    ("auditor", "Auditor"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["job", "review_status", "id"],
                name="item_review_in_job",
            ),
        ),
        migrations.RunPython(review_from_saves, review_forgotten, elidable=True),
    ]
