"""datasets migration 0008 builds the path tokens' index on a table of images that is written to while it
builds (imports, syncs, ground-truth copies): at a million images the build takes about 20 s, which no
import may spend waiting on it."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.db import connection, transaction

from apps.datasets.models import Image
from tests.db_locks import JOIN, OnItsOwnConnection

migration = importlib.import_module("apps.datasets.migrations.0008_image_path_tokens")


def _index_valid() -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [migration.INDEX]
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_images_are_written_while_the_tokens_index_is_built(dataset: Any) -> None:
    """An import's batch is open (an image inserted, not committed) when the migration starts: the build
    waits for it, as any build must. A second import's insert that comes meanwhile must go through rather
    than queue behind the waiting build (a plain CREATE INDEX asks for a lock that excludes every write)."""

    def build() -> None:
        with connection.schema_editor(atomic=migration.Migration.atomic) as editor:
            migration.tokens_index_create(global_apps, editor)

    def insert_another() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")  # without the concurrent build it waits for ever
        Image.objects.create(dataset=dataset, path="b/two.png", name="two.png", width=4, height=4)

    with connection.schema_editor(atomic=False) as editor:
        migration.tokens_index_drop(global_apps, editor)
    try:
        with transaction.atomic():  # the first import's batch
            Image.objects.create(dataset=dataset, path="a/one.png", name="one.png", width=4, height=4)
            building = OnItsOwnConnection(build)
            building.until_it_waits_on_a_lock()  # for the batch's end, as any build must
            inserting = OnItsOwnConnection(insert_another)
            inserting.join(JOIN)
            inserted = Image.objects.filter(path="b/two.png").exists()
        building.join(JOIN)
    finally:
        if _index_valid() is not True:  # leave the test database with its index
            with connection.schema_editor(atomic=False) as editor:
                migration.tokens_index_create(global_apps, editor)

    assert building.failures == inserting.failures == []
    assert inserted
    assert _index_valid() is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_index_left_invalid_by_a_failed_build_is_built_again() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", [migration.INDEX]
        )
    assert _index_valid() is False

    with connection.schema_editor(atomic=migration.Migration.atomic) as editor:
        migration.tokens_index_create(global_apps, editor)

    assert _index_valid() is True
