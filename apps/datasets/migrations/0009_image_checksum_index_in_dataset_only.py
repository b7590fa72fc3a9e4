"""The image checksum's index of its own is dropped (on PostgreSQL its `_like` twin too): every question about a
checksum is asked within a dataset (an import's "already in?", on image_checksum_in_dataset, 0005), and
keeping a random key in an index over every image's checksum was half the cost of an import's INSERT
(docs/performance.md). Dropping an index reads nothing: a short lock on the table, no scan."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("datasets", "0008_image_path_tokens")]

    operations = [
        migrations.AlterField(
            model_name="image",
            name="checksum",
            field=models.CharField(help_text="sha256 of the file's bytes", max_length=64),
        ),
    ]
