"""The file-name search's trigram indexes (datasets migration 0003, the items list's `q`) without GIN's
pending list: with it, rows inserted since the last VACUUM are kept unsorted and every search reads all of
them; after a few thousand new images a one-name search on a million-image job took 1.9 s instead of 0.1 s
(docs/performance.md). Each insert then updates the index in place (1,000 images: about 0.1 s more)."""

from django.db import migrations

INDEXES = ("datasets_image_name_trgm", "datasets_image_path_trgm")


def pending_list_off(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        # IF EXISTS: without pg_trgm the indexes were never made (and search scans).
        schema_editor.execute(f"ALTER INDEX IF EXISTS {index} SET (fastupdate = off)")


def pending_list_on(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {index} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0008_million_items"),
        ("datasets", "0003_image_name_trigram"),
    ]

    operations = [migrations.RunPython(pending_list_off, pending_list_on)]
