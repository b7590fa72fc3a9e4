"""On PostgreSQL, trigram indexes for the items list's file-name search (`q`, a case-insensitive
substring: Django's icontains is UPPER(col) LIKE UPPER(pattern)). Without pg_trgm (no privilege to
create the extension) the search still works, by scanning; elsewhere there is nothing to do."""

import logging

from django.db import migrations, transaction

log = logging.getLogger(__name__)

COLUMNS = ("name", "path")


def trigram_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("datasets", "Image")._meta.db_table
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as error:  # noqa: BLE001 - any refusal means: go on without the indexes
        log.warning("pg_trgm is not available (%s); file-name search will scan the images", error)
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_{column}_trgm ON {table} "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def trigram_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("datasets", "Image")._meta.db_table
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("datasets", "0002_data_import")]

    operations = [migrations.RunPython(trigram_indexes_create, trigram_indexes_drop)]
