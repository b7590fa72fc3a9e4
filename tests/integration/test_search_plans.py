"""A search of the items list is planned for its pattern however often it runs (apps/common/planning.py):
psycopg prepares a statement after a few runs on a connection, and PostgreSQL's generic plan of a prepared
`path LIKE $1` walked a million items in id order to find one file name (docs/performance.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from apps.datasets import search

pytestmark = pytest.mark.django_db

RUNS = 12  # psycopg prepares at the 5th run; PostgreSQL may choose a generic plan from the 6th execution


def prepared(pattern: str) -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            [pattern],
        )
        return cursor.fetchall()


@pytest.mark.postgres  # prepared statements and their plans are PostgreSQL's
@pytest.mark.parametrize(
    "candidates, statements",
    [
        # the images' ids through the trigram index; the page and count then read items by image id
        (search.CANDIDATES, 1),
        # q in more images than that: the ids' read, then the page and its count search with LIKE
        (0, 3),
    ],
)
def test_a_search_run_again_and_again_is_never_given_a_generic_plan(
    candidates: int, statements: int, job: Any, manager_api: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(search, "CANDIDATES", candidates)
    for _ in range(RUNS):
        response = manager_api.get(f"/api/jobs/{job.pk}/items/?q=dog_00")
        assert response.status_code == 200 and response.json()["count"] == 1

    searches = prepared("%LIKE UPPER%")
    assert len(searches) == statements, searches  # each prepared by psycopg
    assert [(generic, custom >= RUNS - 5) for _, generic, custom in searches] == [(0, True)] * statements


@pytest.mark.postgres
def test_a_page_without_a_search_keeps_the_generic_plans_of_prepared_statements(
    job: Any, manager_api: Any
) -> None:
    for _ in range(RUNS):
        assert manager_api.get(f"/api/jobs/{job.pk}/items/?status=unlabeled").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('plan_cache_mode')")
        assert cursor.fetchone() == ("auto",)
