# One row per histogram bucket, so a run's end is counted by one upsert instead of a locked read and a
# write of a JSON column. The counts made with 0002 are dropped: they start again, as a Prometheus counter
# does when its process restarts (rate() and increase() take such resets in their stride).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0002_task_duration"),
    ]

    operations = [
        migrations.DeleteModel(name="TaskDuration"),
        migrations.CreateModel(
            name="TaskDuration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=100)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "le",
                    models.CharField(
                        help_text="the bucket's upper bound, as Prometheus writes it", max_length=20
                    ),
                ),
                ("count", models.PositiveBigIntegerField(default=0)),
                (
                    "seconds",
                    models.FloatField(default=0.0, help_text="the sum of the durations counted here"),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "status", "le"), name="taskduration_kind_status_le"
                    )
                ],
            },
        ),
    ]
