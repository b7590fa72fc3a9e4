"""The model `Event` is now `StoredEvent` (the domain's `Event` is what an event means; this is its row).
Only the model's name changes: its table stays `labeling_event`, with its constraints and indexes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("labeling", "0005_snapshots_with_shape_numbers")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameModel("Event", "StoredEvent"),
                migrations.AlterModelTable("storedevent", "labeling_event"),
                migrations.AlterModelOptions(
                    "storedevent", {"ordering": ["item", "seq"], "verbose_name": "event"}
                ),
            ],
            database_operations=[],
        )
    ]
