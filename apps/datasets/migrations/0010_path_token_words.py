"""On PostgreSQL, the distinct tokens of the image paths (upper-cased, split as migration 0008's index splits
them), in a table of their own with a btree on each token and one on it reversed: a search whose q holds a
token bounded by a separator on one side only (`batch0007/`: a suffix of some path token; `/batch0007`: a
prefix) finds here the few whole tokens it can be part of, then their images through 0008's token index
(apps/datasets/search.py), rather than in the trigram index's posting lists that a million numbered paths
share (docs/performance.md).

Kept by triggers on the images, so every way an image is written (imports, ground-truth copies, a bulk
COPY) keeps it: after each INSERT statement, the tokens of its new rows that are not in the table yet
(one statement a batch, from its transition table); after an update that changes a path, that path's.
ENABLE ALWAYS: they fire under `session_replication_role = replica` too (the scale bench's COPY). A
token is never taken out (an image deleted leaves its tokens): the table is a superset of the tokens in
use, which a search may only make wider, never wrong, since it tests q on every path it reads. No unique
constraint: two transactions adding the same new token add it twice (neither sees the other's row), and a
unique index would have them wait on each other, or deadlock, instead; readers take DISTINCT.

What it costs a write: the trigger's run is 14-28 ms for an INSERT of 1,000 images with a new file
name each (EXPLAIN ANALYZE at 200,000 images, load 2-5), beside 110-140 ms for the INSERT itself.

Filled here from the images there are (3.5 s for the bench's 200,000 paths), inside the migration's
transaction: CREATE TRIGGER holds off writes to the images until it commits, so no image is missed."""

from django.db import migrations

TABLE = "datasets_path_token"
TOKENS = r"regexp_split_to_array(UPPER(%s::text), '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+')"


def words_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    images = apps.get_model("datasets", "Image")._meta.db_table
    new_tokens = (
        "SELECT DISTINCT t.token FROM {rows}, unnest(" + TOKENS % "{path}" + ") AS t(token) "
        f"WHERE t.token <> '' AND NOT EXISTS (SELECT 1 FROM {TABLE} w WHERE w.token = t.token)"
    )
    for statement in (
        f'CREATE TABLE {TABLE} (token text COLLATE "C" NOT NULL)',
        f"INSERT INTO {TABLE} (token) {new_tokens.format(rows=images, path=f'{images}.path')}",
        f"CREATE INDEX {TABLE}_prefix ON {TABLE} (token)",
        f"CREATE INDEX {TABLE}_suffix ON {TABLE} (reverse(token))",
        # The new tokens are looked up one by one in the btree (a nested loop): with a hash join the
        # planner read the whole table for a batch of 1,000 images (216,000 tokens at 200,000 images, 40 ms
        # a batch, growing with the table). Set for the function's run only.
        f"""CREATE FUNCTION {TABLE}_add_inserted() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    INSERT INTO {TABLE} (token) {new_tokens.format(rows="inserted", path="inserted.path")};
    RETURN NULL;
END $$""",
        f"""CREATE FUNCTION {TABLE}_add_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (token) {new_tokens.format(rows="(SELECT NEW.path) AS updated", path="updated.path")};
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {TABLE}_inserted AFTER INSERT ON {images} REFERENCING NEW TABLE AS inserted "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_add_inserted()",
        f"CREATE TRIGGER {TABLE}_updated AFTER UPDATE OF path ON {images} FOR EACH ROW "
        f"WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION {TABLE}_add_updated()",
        f"ALTER TABLE {images} ENABLE ALWAYS TRIGGER {TABLE}_inserted",
        f"ALTER TABLE {images} ENABLE ALWAYS TRIGGER {TABLE}_updated",
        f"ANALYZE {TABLE}",
    ):
        schema_editor.execute(statement)


def words_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    images = apps.get_model("datasets", "Image")._meta.db_table
    for statement in (
        f"DROP TRIGGER IF EXISTS {TABLE}_inserted ON {images}",
        f"DROP TRIGGER IF EXISTS {TABLE}_updated ON {images}",
        f"DROP FUNCTION IF EXISTS {TABLE}_add_inserted()",
        f"DROP FUNCTION IF EXISTS {TABLE}_add_updated()",
        f"DROP TABLE IF EXISTS {TABLE}",
    ):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("datasets", "0009_image_checksum_index_in_dataset_only")]

    operations = [migrations.RunPython(words_create, words_drop)]
