"""The items list's search (`q`, a case-insensitive substring of the path) finds the same items whichever
way it is answered: on PostgreSQL through the path tokens' index when q holds a rare token bounded on both
sides, else through the trigram index; on SQLite by icontains (apps/datasets/search.py, issue 21 point 4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.common.planning import read_through_indexes
from apps.datasets import search
from apps.datasets.models import Image
from apps.datasets.search import (
    edge_parts,
    edge_words,
    ids_statement,
    image_ids_holding,
    images_holding,
    interior_tokens,
    path_contains,
    searched_tokens,
    words_with_edge,
)
from apps.labeling import selectors
from apps.labeling.models import Item

pytestmark = pytest.mark.django_db

# Paths that tell the edge cases apart: partial tokens at q's ends, repeated separators, case, unicode,
# % and _ taken literally, a folder's name against a file's.
PATHS = [
    "site00/batch0500/frame_0500000.jpg",
    "site01/batch0500/frame_0500001.jpg",
    "site00/batch0501/xframe_0500000.jpgz",
    "site02/batch0007/frame_0007001.JPG",
    "a__05__b.png",
    "a_05_b.png",
    "x/100%_done_y.png",
    "x/100a_done_y.png",
    "x/100%%_done_y.png",
    "café/Über_ünï_2024-05-01.png",
    "café/über_ÜNÏ_2024-05-02.png",
    "photos/IMG_1234.JPG",
    "photos/img-1234-copy.jpg",
    "photos/img.1234.jpg",
    "birds/1234/nest.png",
    "weird/a—05—b.png",
    "weird/x_a—05—b_y.png",
    "spaces/my 05 photo.png",
    "dots/..05...png",
    "strasse/ß_05_ss.png",
    "naïve/Ørsted_05_x.png",
]

# q values whose answer is the same on SQLite and PostgreSQL (non-ASCII letters in the paths' own case:
# SQLite's LIKE folds ASCII letters only; DRF trims q's spaces), with their tokens bounded on both sides.
QUERIES = {
    "frame_0500000.jpg": ["0500000"],
    "FRAME_0500000.JPG": ["0500000"],
    "e_0500000.jp": ["0500000"],
    "/batch0500/": ["batch0500"],
    "batch0500/frame_05": ["frame"],
    "batch0007/": [],
    "_05_": ["05"],
    "__05__": ["05"],
    "a__05__b": ["05"],
    "a_05_b": ["05"],
    "_100%_": ["100"],
    "100%_done": [],
    "x/100%_done": ["100"],
    "/100%%_": ["100"],
    "%": [],
    "_": [],
    "/Ørsted_": ["Ørsted"],
    "e/Ørsted_05_x": ["Ørsted", "05"],
    "/café/": ["café"],
    "é/": [],
    "_2024-05-": ["2024", "05"],
    "-05-": ["05"],
    "IMG_1234.": ["1234"],
    "img.1234.jpg": ["1234"],
    "/1234/": ["1234"],
    "s/1234": [],
    "1234": [],
    "_a—05—b_": ["a—05—b"],
    "—05—": [],
    "y 05 p": ["05"],
    "my 05 photo": ["05"],
    ".05.": ["05"],
    "..05...": ["05"],
    "/ß_05_": ["ß", "05"],
    "_ss.": ["ss"],
    "zebra_05_": ["05"],
}

# q values with a part bounded by a separator on one side only (its first or last): on PostgreSQL the
# whole tokens it can be part of come from the table of every path token (datasets migration 0010).
EDGE_QUERIES = [
    "batch0007/",
    "atch0007/",
    "batch0007/frame_0007",
    "ch0500/",
    "/batch05",
    "/BATCH050",
    "xframe_05",
    "rame_0500001",
    "e_05000",
    "é/",
    "MG_12",
    "_1234-co",
    "n/c_3",
    "100%_do",
    "sted_05_",
    "ß_0",
    "nothing_like_it/",
    "/nothing",
    "a—05—b_",
]

# PostgreSQL folds every letter: the token index must find what its UPPER finds (ü against Ü).
QUERIES_FOLDED = [
    *["_ÜNÏ_", "_ünï_", "/über_", "é/Über_ünï_2024", "CAFÉ/", "_SS.", "_ẞ_", "/Ss_05_ß"],
    *["Über_ü", "ünï_2024", "ÜBER_", "_Ün"],  # parts of a token at q's edges
]


@pytest.fixture
def searched_job(job: Any, manager_api: Any) -> Any:
    Image.objects.bulk_create(
        Image(
            dataset=job.dataset, file=f"s/{n}.png", name=path.rsplit("/", 1)[-1], path=path, width=9, height=9
        )
        for n, path in enumerate(PATHS)
    )
    assert manager_api.post(f"/api/jobs/{job.pk}/sync/").status_code == 200
    return job


def listed(api: Any, job: Any, q: str) -> set[int]:
    response = api.get(f"/api/jobs/{job.pk}/items/?{urlencode({'q': q, 'page_size': 500})}")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == len(body["results"])
    return {row["id"] for row in body["results"]}


def by_substring(job: Any, q: str) -> set[int]:
    """The job's items whose path holds q, upper-cased on both sides, tested in Python."""
    items = Item.objects.filter(job=job).select_related("image")
    return {item.pk for item in items if q.upper() in item.image.path.upper()}


def by_icontains(job: Any, q: str) -> set[int]:
    return set(Item.objects.filter(job=job, image__path__icontains=q).values_list("id", flat=True))


@pytest.mark.parametrize("q, tokens", list(QUERIES.items()))
def test_the_tokens_bounded_on_both_sides_inside_q(q: str, tokens: list[str]) -> None:
    assert interior_tokens(q) == tokens


@pytest.mark.parametrize("q", list(QUERIES))
def test_a_search_lists_what_a_substring_test_of_the_path_lists(
    q: str, searched_job: Any, manager_api: Any
) -> None:
    assert (
        listed(manager_api, searched_job, q) == by_substring(searched_job, q) == by_icontains(searched_job, q)
    )


@pytest.mark.postgres  # the token index is PostgreSQL's
@pytest.mark.parametrize("q", QUERIES_FOLDED)
def test_a_search_through_the_tokens_finds_what_upper_like_finds(
    q: str, searched_job: Any, manager_api: Any
) -> None:
    found = listed(manager_api, searched_job, q)

    assert found == by_icontains(searched_job, q)
    assert "_ÜNÏ_" not in q or len(found) == 2  # both cases of ünï: PostgreSQL's UPPER folds them


@pytest.mark.parametrize("q", EDGE_QUERIES)
def test_a_search_by_a_part_of_a_token_lists_what_a_substring_test_lists(
    q: str, searched_job: Any, manager_api: Any
) -> None:
    assert (
        listed(manager_api, searched_job, q) == by_substring(searched_job, q) == by_icontains(searched_job, q)
    )


def plan(queryset: Any) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small: ask which index answers
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_a_rare_token_is_found_through_the_tokens_index_alone_then_its_items_by_image_id(
    searched_job: Any,
) -> None:
    q = "frame_0500000.jpg"
    found = plan(images_holding(q, searched_tokens(q)))
    assert "datasets_image_path_tokens" in found, found
    assert "datasets_image_path_trgm" not in found, found  # no BitmapAnd with the trigram index

    with CaptureQueriesContext(connection) as queries:
        page = list(selectors.item_list(job=searched_job, q=q)[:1])  # a one-match page: LIMIT 1
    first, second = Image.objects.filter(path__in=PATHS[:3:2]).order_by("pk")  # frame_, xframe_0500000
    assert [item.image_id for item in page] == [first.pk]
    sql = queries.captured_queries[-1]["sql"]
    assert f'"labeling_item"."image_id" IN ({first.pk}, {second.pk})' in sql and "LIKE" not in sql, sql


@pytest.fixture
def common_images(searched_job: Any, manager_api: Any) -> Any:
    """400 more images in one folder, set/common/c_<n>.png, in the job (not yet analyzed)."""
    Image.objects.bulk_create(
        Image(
            dataset=searched_job.dataset,
            file=f"c/{n}.png",
            name=f"c_{n}.png",
            path=f"set/common/c_{n}.png",
            width=9,
            height=9,
        )
        for n in range(400)
    )
    assert manager_api.post(f"/api/jobs/{searched_job.pk}/sync/").status_code == 200
    return searched_job


@pytest.mark.postgres
def test_tokens_common_by_the_statistics_are_not_looked_up(common_images: Any, manager_api: Any) -> None:
    assert searched_tokens("/common/c_") == ["common", "c"]  # no statistics yet: none is known common

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE datasets_image")

    assert searched_tokens("/common/c_") == []  # COMMON and C are in nearly every path
    assert searched_tokens("/common/0500000_") == ["0500000"]  # the rare one alone is looked up
    assert searched_tokens("common/c_1") == []  # no token bounded on both sides
    for q in ("/common/c_", "/common/0500000_", "common/c_1", "/c_3", "n/c_39"):
        assert listed(manager_api, common_images, q) == by_icontains(common_images, q)
    assert len(listed(manager_api, common_images, "/common/c_")) == 400
    assert "@>" not in str(Image.objects.filter(path_contains("/common/c_")).query)


@pytest.mark.postgres
def test_without_a_rare_bounded_token_the_ids_are_read_through_the_trigrams_up_to_a_bound(
    common_images: Any, manager_api: Any, monkeypatch: Any
) -> None:
    in_folder = set(Image.objects.filter(path__startswith="set/common/").values_list("pk", flat=True))
    assert set(image_ids_holding("common/c_")) == in_folder  # no bounded token: the trigrams
    assert image_ids_holding("05") is None  # no three letters for a trigram: icontains in one statement

    monkeypatch.setattr(search, "CANDIDATES", 399)
    assert image_ids_holding("common/c_") is None  # in more images than that: icontains
    assert "LIKE" in str(Image.objects.filter(path_contains("common/c_")).query)
    assert len(listed(manager_api, common_images, "common/c_")) == 400


@pytest.mark.postgres
def test_reading_through_indexes_plans_a_bitmap_of_the_index_then_sets_the_scans_back(
    common_images: Any,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE datasets_image")
    statement = Image.objects.filter(path__icontains="common/c_").order_by().values("id")[:1001]
    sql, params = statement.query.sql_with_params()

    def explained() -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    assert "Seq Scan on datasets_image" in explained()  # a small table: the planner reads it all
    with read_through_indexes():
        through = explained()
    assert "Bitmap Index Scan on datasets_image_path_trgm" in through, through
    assert "Seq Scan on datasets_image" in explained()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')")
        assert cursor.fetchone() == ("on", "on")


@pytest.fixture
def only_these_words(searched_job: Any) -> Any:
    """The table of path tokens holding the tokens of this test's images only: a test run with flushes
    (transactional tests) leaves the tokens of its images in it, since nothing takes a token out
    (datasets migration 0010); rolled back with the test."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {search.WORDS}")
        cursor.execute(
            f"INSERT INTO {search.WORDS} SELECT DISTINCT t FROM datasets_image, "
            f"unnest({search.PATH_TOKENS_SQL % 'path'}) t WHERE t <> ''"
        )
    return searched_job


@pytest.mark.postgres
def test_a_part_of_a_token_at_qs_edge_is_found_through_the_whole_tokens_it_ends_or_starts(
    only_these_words: Any,
) -> None:
    assert edge_parts("batch0007/") == [("ends", "batch0007")]
    assert edge_parts("ch0500/frame_05") == [("ends", "ch0500"), ("starts", "05")]
    assert edge_parts("/frame") == [("starts", "frame")]
    assert edge_parts("batch0007") == []  # bounded on neither side: the trigrams
    assert edge_words("ch0500/") == [["BATCH0500"]]
    assert edge_words("/batch05") == [["BATCH0500", "BATCH0501"]]
    assert edge_words("xframe_05") == [["XFRAME"], ["05", "0500000", "0500001"]]
    assert edge_words("rame_0500001") == [["FRAME", "XFRAME"], ["0500001"]]
    assert edge_words("nothinglikeit/") == [[]]  # no token ends with NOTHINGLIKEIT
    assert edge_words("Über_ü") == [["ÜBER"], ["ÜBER", "ÜNÏ"]]  # PostgreSQL's UPPER on both sides

    found = plan(ids_statement("ch0500/"))
    assert "datasets_image_path_tokens" in found and "&&" in found, found
    assert "datasets_image_path_trgm" not in found, found
    assert set(ids_statement("ch0500/")) == set(
        Image.objects.filter(path__icontains="ch0500/").values_list("pk", flat=True)
    )
    with CaptureQueriesContext(connection) as queries:
        assert image_ids_holding("nothinglikeit/") == []
    assert not any("datasets_image" in query["sql"] for query in queries.captured_queries)


@pytest.mark.postgres
def test_an_edge_part_of_too_many_tokens_is_not_looked_up(only_these_words: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(search, "EDGE_WORDS", 2)
    assert edge_words("rame_05") == [["FRAME", "XFRAME"]]  # 05 starts three tokens: left out
    assert words_with_edge("starts", "05") is None
    monkeypatch.setattr(search, "EDGE_WORDS", 1)
    assert edge_words("rame_05") == []
    assert "datasets_image_path_trgm" in plan(ids_statement("rame_05"))


def words_table() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {search.WORDS} ORDER BY token")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_the_table_of_path_tokens_is_kept_by_every_write_of_an_image(only_these_words: Any) -> None:
    dataset = only_these_words.dataset
    assert "BATCH0007" in words_table() and "XFRAME" in words_table()

    Image.objects.create(
        dataset=dataset, file="n/1.png", name="1.png", path="new/Zebra-42.png", width=9, height=9
    )
    assert {"NEW", "ZEBRA", "42", "PNG"} <= set(words_table())
    Image.objects.filter(path="new/Zebra-42.png").update(path="moved/Okapi-42.png")
    assert {"MOVED", "OKAPI"} <= set(words_table())
    with connection.cursor() as cursor:  # as the scale bench's COPY: no ordinary triggers fire
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO datasets_image (dataset_id, file, thumbnail, name, path, width, height, checksum, "
            "created_at) VALUES (%s, 'r.png', '', 'r.png', 'bulk/Quokka_7.png', 9, 9, '', now())",
            [dataset.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    assert "QUOKKA" in words_table()
    before = words_table()
    Image.objects.filter(path__startswith="s/").update(width=10)  # no path changed: nothing added
    Image.objects.bulk_create(  # tokens there already, twice in one statement: added once
        Image(
            dataset=dataset, file=f"d/{n}.png", name="d.png", path=f"new/zebra_{n}/q.png", width=9, height=9
        )
        for n in range(2)
    )
    assert words_table() == sorted([*before, "0", "1", "Q"])
    quokka = Image.objects.get(path="bulk/Quokka_7.png")
    assert edge_words("okka_7") == [["QUOKKA"], ["7"]]
    assert image_ids_holding("okka_7") == [quokka.pk]


@pytest.mark.postgres
def test_a_token_in_the_table_twice_is_looked_up_once(only_these_words: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {search.WORDS} (token) VALUES ('BATCH0500'), ('BATCH0500')")
    assert edge_words("/batch05") == [["BATCH0500", "BATCH0501"]]
