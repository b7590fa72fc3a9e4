"""Search of images by path: `q` is a case-insensitive substring of the path (Django's icontains:
UPPER(path) LIKE UPPER('%q%'), with % and _ taken literally). On PostgreSQL a trigram GIN index answers it
(migration 0003), but at a million images every trigram of a numbered file name (`frame_0500000.jpg`) is
shared by a good part of the paths, and the index reads all their posting lists (2,858 pages for one name).

So, with the same answer, a search first narrows by the path's tokens (migration 0008): split on SEPARATORS
(every ASCII character but letters and digits), a token of `q` with a separator on both sides *inside q*
is a whole token of every path that holds q, since those separators are in the path too. `site00/batch0500/
frame_0500000.jpg` has the tokens SITE00, BATCH0500, FRAME, 0500000, JPG; `q=frame_0500000.jpg` has one
such token, 0500000, which the GIN index on the tokens finds among one path, not a million.

A part of q with a separator on one side only inside q is part of a whole token all the same: the first
part, when a separator follows it, is the end of a token of every path holding q (`batch0007/`: some
token ends with BATCH0007), and the last part, when one comes before it, the start of one. Which whole
tokens those are, the table of every path token there is says (migration 0010: datasets_path_token, a
btree on each token and one on it reversed, kept by triggers on the images): `BATCH0007` alone at a
million paths. The paths holding one of them (`&&` on the token index) are the candidates, tested with
q as above. An edge with more than EDGE_WORDS such tokens (`frame_05`: 100,000 numbers begin with 05)
or a common one narrows too little, and is left out.

In two statements: the ids of the images holding those tokens and q itself (STRPOS on the few the index
gives: not LIKE, which the planner would answer with a BitmapAnd of both indexes, reading the trigram
posting lists all the same), then the rows of those images by id. A token many paths share narrows
nothing: tokens the planner's statistics count in more than COMMON of the images are left out. A q left
with none, and no edge that narrows it (`q=frame_05`, `q=batch0007`), has its images' ids read through
the trigram index instead, when it has a run of three characters that are no separators.

Why ids first: in one statement (the page: a join of items and images in item id order, with a LIMIT) the
planner cannot know how few images hold q (its statistics guess hundreds or thousands at a million), so
it walks the job's items in id order, joining each to its image, to stop at the page's last row: for a
one-match page (`LIMIT 1`) half the job, and for 1,000 matches in parallel workers the whole job (2.8 s;
docs/performance.md). Reading the ids is planned with bitmap scans only (apps/common/planning.py), and
then the items of at most CANDIDATES images are read by image id, in both the page and its count. A q in
more images, or with no index to narrow it, or SQLite, searches with icontains in one statement.

Case: both sides are upper-cased by PostgreSQL's own UPPER (as icontains does), in the index and in the
query; Python only splits on ASCII separators, which no case mapping makes or removes. SQLite has neither
index and searches with icontains (its LIKE folds ASCII letters only, on either path)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan

from apps.common.planning import planned_for_values, read_through_indexes

from .models import Image

# Every ASCII character but a letter or a digit, written for both Python's re and PostgreSQL's regexes.
SEPARATORS = r"[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]"
PATH_TOKENS_SQL = f"regexp_split_to_array(UPPER(%s::text), '{SEPARATORS}+')"  # migration 0008's index
TOKENS_INDEX = "datasets_image_path_tokens"
COMMON = 0.01  # a token in more than 1% of the images narrows too little to be worth its posting list
CANDIDATES = 1000  # images found through an index, at most, whose items a search then reads by image id
WORDS = "datasets_path_token"  # every token of every path (migration 0010)
EDGE_WORDS = 100  # whole tokens an edge of q may be part of, at most, for the edge to be looked up


def interior_tokens(q: str) -> list[str]:
    """The tokens of q with a separator on both sides inside q, in order, without repeats: every path
    holding q holds each of them as a whole token (upper-cased)."""
    parts = re.split(f"{SEPARATORS}+", q)
    return list(dict.fromkeys(part for part in parts[1:-1] if part))


def common_tokens(tokens: list[str]) -> set[str]:
    """Those of `tokens` (as given) that the planner's statistics of the token index count in more than
    COMMON of the images (none before the images were first analyzed)."""
    upper = {token: token.upper() for token in tokens}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT UPPER(t.token) FROM unnest(%s::text[]) AS t(token), pg_stats s, "
            "unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(elem, freq) "
            "WHERE s.tablename = %s AND e.elem = UPPER(t.token) AND e.freq > %s",
            [tokens, TOKENS_INDEX, COMMON],
        )
        frequent = {row[0] for row in cursor.fetchall()}
    return {token for token, big in upper.items() if big in frequent}


def edge_parts(q: str) -> list[tuple[str, str]]:
    """The parts of q bounded by a separator on one side only inside q, as ("ends", part) for the first
    (a suffix of a path token) and ("starts", part) for the last (a prefix of one)."""
    parts = re.split(f"{SEPARATORS}+", q)
    if len(parts) < 2:
        return []
    return [(end, part) for end, part in (("ends", parts[0]), ("starts", parts[-1])) if part]


def words_with_edge(end: str, part: str) -> list[str] | None:
    """The whole path tokens (upper-cased) that end with `part` ("ends") or start with it ("starts"),
    from migration 0010's table, through its btrees; None if there are more than EDGE_WORDS. A part
    holds no separator, so none of LIKE's wildcards or its escape. Planned for the value (a generic
    plan of `LIKE $1` cannot use a btree)."""
    if end == "ends":
        tested = "reverse(token) LIKE reverse(UPPER(%s)) || '%%'"
    else:
        tested = "token LIKE UPPER(%s) || '%%'"
    rows = EDGE_WORDS * 2 + 1  # a token may be in the table twice (migration 0010): room for repeats
    with planned_for_values(), connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {WORDS} WHERE {tested} LIMIT %s", [part, rows])
        found = [row[0] for row in cursor.fetchall()]
    words = sorted(set(found))
    return words if len(found) < rows and len(words) <= EDGE_WORDS else None


def edge_words(q: str) -> list[list[str]]:
    """For each edge of q that narrows it, the whole tokens it can be part of (every path holding q holds
    one of each list): the edges with at most EDGE_WORDS such tokens, none of them common. An empty list:
    no path has that edge, so none holds q. None at all on SQLite."""
    if connection.vendor != "postgresql":
        return []
    narrowing = []
    for end, part in edge_parts(q):
        words = words_with_edge(end, part)
        if words is not None and not (words and common_tokens(words)):
            narrowing.append(words)
    return narrowing


class PathHoldsTokens(Func):
    """`path`'s tokens (upper-cased, split on SEPARATORS) hold every one of `tokens` (upper-cased by
    PostgreSQL): `regexp_split_to_array(UPPER(path::text), ...) @> ARRAY[UPPER(%s), ...]`, the expression
    of migration 0008's GIN index, which answers it."""

    output_field = BooleanField()
    operator = "@>"

    def __init__(self, path: Any, tokens: list[str]) -> None:
        super().__init__(path, *(Value(token) for token in tokens))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        path, *tokens = (compiler.compile(expression) for expression in self.get_source_expressions())
        held = ", ".join(f"UPPER({sql}::text)" for sql, _ in tokens)
        sql = f"{PATH_TOKENS_SQL % path[0]} {self.operator} ARRAY[{held}]"
        return sql, [*path[1], *(param for _, params in tokens for param in params)]


class PathHoldsOneOf(PathHoldsTokens):
    """`path`'s tokens hold one of `tokens` at least (`&&`), answered by the same index."""

    operator = "&&"


def searched_tokens(q: str) -> list[str]:
    """The tokens a search for q looks up in the token index: its tokens bounded on both sides, less the
    common ones; none on SQLite."""
    if connection.vendor != "postgresql":
        return []
    tokens = interior_tokens(q)
    common = common_tokens(tokens) if tokens else set()
    return [token for token in tokens if token not in common]


def image_ids_holding(q: str) -> list[int] | None:
    """The ids of the images whose path holds q, read through an index (PostgreSQL): the token index
    where q has a rare token bounded on both sides, else the trigram index where q has a run of three
    characters that are no separators (pg_trgm finds no trigram in a shorter one). None where neither
    index narrows q, on SQLite, or where q is in more than CANDIDATES images: the caller then searches
    with icontains, as one statement."""
    statement = ids_statement(q)
    if statement is None:
        return None
    with read_through_indexes():  # LIMIT CANDIDATES + 1 must not become a walk of the whole table
        ids = list(statement)
    return ids if len(ids) <= CANDIDATES else None


def ids_statement(q: str) -> QuerySet[Image, int] | None:
    """The read of image_ids_holding(q), or None where no index narrows q (or SQLite)."""
    if connection.vendor != "postgresql":
        return None
    tokens = searched_tokens(q)
    edges = [] if tokens else edge_words(q)
    if tokens:
        images = images_holding(q, tokens)
    elif edges:
        if not all(edges):  # an edge that no path token has: no path holds q
            return Image.objects.none().values_list("id", flat=True)
        images = images_holding(q, [], edges)
    elif max(len(part) for part in re.split(f"{SEPARATORS}+", q)) >= 3:
        images = Image.objects.filter(path__icontains=q).order_by()
    else:
        return None
    return images.values_list("id", flat=True)[: CANDIDATES + 1]


def images_holding(q: str, tokens: list[str], edges: Sequence[list[str]] = ()) -> QuerySet[Image]:
    """The images whose path holds q, these tokens of it, and one token of each list of `edges` (from
    edge_words), read through the token index (PostgreSQL)."""
    # STRPOS, not LIKE, so that the trigram index is no candidate here (see above); the same test of q.
    holds_q = GreaterThan(StrIndex(Upper("path"), Upper(Value(q))), 0)
    held = [PathHoldsTokens(F("path"), tokens)] if tokens else []
    held += [PathHoldsOneOf(F("path"), words) for words in edges]
    return Image.objects.filter(*held, holds_q).order_by()


def path_contains(q: str, image: str = "") -> Q:
    """Images (or rows reaching them through the relation `image`, e.g. "image") whose path holds q as a
    case-insensitive substring: the rows of `path__icontains=q`, by image id where an index finds at
    most CANDIDATES of them (image_ids_holding, PostgreSQL)."""
    ids = image_ids_holding(q)
    if ids is None:
        return Q(**{f"{image}__path__icontains" if image else "path__icontains": q})
    return Q(**{f"{image}__in" if image else "pk__in": ids})
