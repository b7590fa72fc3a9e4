"""On PostgreSQL, a GIN index of each image path's tokens (upper-cased, split on every ASCII character but
letters and digits), the expression of apps/datasets/search.py's PATH_TOKENS_SQL: a search whose q holds a
token with a separator on both sides finds the few paths holding that whole token here, rather than in
the trigram index's posting lists that a million numbered file names share (docs/performance.md). An
expression index: PostgreSQL keeps it on every insert and update (imports, syncs, the bench's COPY).

Built CONCURRENTLY, outside a transaction (atomic = False): the build reads every image (about 20 s at a
million), and a plain CREATE INDEX would hold off every import, sync and ground-truth copy meanwhile. A
concurrent build that failed half way leaves an invalid index of the name, which IF NOT EXISTS would keep
for good: it is dropped and built again. No pending list, for the reason of labeling migration 0009."""

from django.db import migrations

INDEX = "datasets_image_path_tokens"
EXPRESSION = r"regexp_split_to_array(UPPER(path::text), '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+')"


def tokens_index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("datasets", "Image")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [INDEX])
        invalid = cursor.fetchone()
    if invalid is not None and invalid[0]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {table} USING gin (({EXPRESSION})) "
        "WITH (fastupdate = off)"
    )


def tokens_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs in no transaction

    dependencies = [("datasets", "0007_labeled_import_cvat")]

    operations = [migrations.RunPython(tokens_index_create, tokens_index_drop)]
