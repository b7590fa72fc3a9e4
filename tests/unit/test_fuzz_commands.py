"""Fuzzing the command parser and the domain with arbitrary JSON (hypothesis).

Whatever a client sends as a command, the parser either returns a Command or refuses it with
`invalid_command` and a short human message; nothing else escapes. Whatever parses, decide either refuses
with one of the domain's codes or returns events that evolve applies, that serialise as strict JSON (no NaN
or infinity reaches the log), and whose resulting state survives its snapshot form. These are the two
doors every write comes through, so a crash here would be a 500 over REST or an internal_error over the
websocket.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.labeling.domain import (
    COMMAND_TYPES,
    Context,
    Limits,
    Rejected,
    decide,
    initial_state,
    parse_command,
    state_from_dict,
    state_to_dict,
    state_view,
)
from apps.labeling.domain.events import event_payload, event_type
from apps.labeling.domain.evolve import evolve
from tests.figures import figure

FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Every code decide may refuse with (docs/protocol.md lists them for clients); a new one must be added here.
DOMAIN_CODES = {
    "different_labels",
    "duplicate_vertex",
    "empty_result",
    "invalid_command",
    "invalid_vertex_index",
    "issue_already_open",
    "issue_already_resolved",
    "issue_exists",
    "line_does_not_cross",
    "line_outside_image",
    "non_finite_coordinate",
    "not_labeled",
    "not_reviewed",
    "not_saved",
    "not_your_draft",
    "nothing_to_redo",
    "nothing_to_undo",
    "open_issues",
    "polygon_outside_image",
    "result_has_hole",
    "result_not_simple",
    "self_intersecting",
    "shape_closed",
    "shape_exists",
    "shape_is_draft",
    "shapes_not_overlapping",
    "shapes_not_touching",
    "too_few_vertices",
    "too_many_comments",
    "too_many_drafts",
    "too_many_issues",
    "too_many_shapes",
    "too_many_vertices",
    "unknown_issue",
    "unknown_label_class",
    "unknown_shape",
    "zero_area",
}

TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    figure("parser fuzz: arbitrary and near-valid commands parsed", TRIED["parsed"], "commands")
    figure("domain fuzz: parsed commands decided and applied", TRIED["decided"], "commands")
    figure("parser and domain fuzz: exceptions other than a refusal", 0, "", "0", True)


SHAPE_IDS = [str(uuid.UUID(int=n)) for n in range(1, 4)]
LABELS = frozenset({1, 2})
WIDTH, HEIGHT = 100, 80

# Any JSON a client could send: nested lists and objects of every scalar, including numbers JSON can
# carry but Python's json module also reads (NaN, Infinity) and integers far outside a float's range.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
any_json = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

# Values that are almost right for each field: the right type at the edges, or the wrong type.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "shape_id": st.one_of(st.sampled_from(SHAPE_IDS), st.uuids().map(str), st.text(max_size=40), any_json),
    "x": st.one_of(st.integers(-5, 105), st.floats(), any_json),
    "y": st.one_of(st.integers(-5, 85), st.floats(), any_json),
    "dx": st.one_of(st.integers(-50, 50), st.floats(), any_json),
    "dy": st.one_of(st.integers(-50, 50), st.floats(), any_json),
    "index": st.one_of(st.integers(-2, 10), st.integers(), any_json),
    "label_class_id": st.one_of(st.sampled_from([1, 2, 3]), st.integers(), any_json),
    "points": st.one_of(
        st.builds(
            lambda x, y, w, h: [[x, y], [x + w, y], [x + w, y + h], [x, y + h]],
            st.integers(0, 60),
            st.integers(0, 40),
            st.integers(1, 39),
            st.integers(1, 39),
        ),
        st.lists(st.tuples(st.integers(-5, 105), st.integers(-5, 85)).map(list), max_size=8),
        st.lists(st.lists(st.floats(), max_size=3), max_size=6),
        any_json,
    ),
    "group_id": st.one_of(st.none(), st.text(max_size=70), any_json),
    "shape_ids": st.one_of(
        st.lists(st.sampled_from(SHAPE_IDS), min_size=2, max_size=3, unique=True),
        st.lists(st.sampled_from(SHAPE_IDS), max_size=4),
        any_json,
    ),
    "into": st.one_of(st.sampled_from(SHAPE_IDS), any_json),
    "by": st.one_of(st.sampled_from(SHAPE_IDS), any_json),
    "line": st.one_of(
        st.lists(st.tuples(st.integers(-20, 120), st.integers(-20, 100)).map(list), max_size=5),
        st.lists(st.lists(st.floats(), max_size=3), max_size=4),
        any_json,
    ),
    "values": st.one_of(
        st.dictionaries(
            st.sampled_from(["occluded", "colour", "count", "note", ""]),
            st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=5), any_json),
            max_size=3,
        ),
        any_json,
    ),
    # Review (issue 24): issue ids, a rejection's reason, an issue's text.
    "issue_id": st.one_of(st.sampled_from(SHAPE_IDS), st.uuids().map(str), st.text(max_size=40), any_json),
    "reason": st.one_of(st.text(max_size=30), st.text(min_size=1990, max_size=2010), any_json),
    "text": st.one_of(st.text(max_size=30), st.sampled_from(["", "  ", "a\nb", "a\x00b"]), any_json),
}
# A paste's shapes: add_polygon's fields each, almost right as theirs are.
FIELD_VALUES["shapes"] = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {k: FIELD_VALUES[k] for k in ("shape_id", "label_class_id", "points")},
            optional={"group_id": FIELD_VALUES["group_id"]},
        ),
        max_size=3,
    ),
    any_json,
)


@st.composite
def near_valid_command(draw: st.DrawFn) -> dict[str, Any]:
    """An object with a real command type and mostly its own fields, each possibly wrong or missing,
    sometimes with a field it does not take."""
    kind = draw(st.sampled_from(sorted(COMMAND_TYPES)))
    data: dict[str, Any] = {"type": kind}
    for field in fields(COMMAND_TYPES[kind]):
        if draw(st.integers(0, 9)) > 0:  # mostly present
            data[field.name] = draw(FIELD_VALUES[field.name])
    if draw(st.integers(0, 9)) == 0:
        data[draw(st.sampled_from(["extra", "seq", *FIELD_VALUES]))] = draw(any_json)
    return data


def refusal_is_well_formed(refusal: Rejected) -> None:
    assert isinstance(refusal.code, str) and refusal.code
    assert isinstance(refusal.message, str) and refusal.message
    # A message quotes at most a snippet of what it refuses, whatever the client sent.
    assert len(refusal.message) <= 600, refusal.message


@FUZZ_SETTINGS
@given(data=any_json)
def test_the_parser_refuses_arbitrary_json_with_invalid_command_or_parses_it(data: Any) -> None:
    TRIED["parsed"] += 1
    try:
        parse_command(data)
    except Rejected as refusal:
        assert refusal.code == "invalid_command"
        refusal_is_well_formed(refusal)


@FUZZ_SETTINGS
@given(data=st.one_of(near_valid_command(), st.dictionaries(st.text(max_size=12), any_json, max_size=6)))
def test_the_parser_refuses_near_valid_commands_with_invalid_command_or_parses_them(data: dict) -> None:
    TRIED["parsed"] += 1
    try:
        command = parse_command(data)
    except Rejected as refusal:
        assert refusal.code == "invalid_command"
        refusal_is_well_formed(refusal)
    else:
        assert type(command) is COMMAND_TYPES[data["type"]]


def strict_json(value: Any) -> str:
    """JSON as the log stores it: NaN and infinity are not JSON and must never get this far."""
    return json.dumps(value, allow_nan=False, sort_keys=True)


@FUZZ_SETTINGS
@given(commands=st.lists(st.tuples(st.sampled_from([1, 2]), near_valid_command()), min_size=1, max_size=25))
def test_whatever_parses_is_refused_with_a_domain_code_or_becomes_strict_json_events(
    commands: list[tuple[int, dict[str, Any]]],
) -> None:
    state = initial_state(WIDTH, HEIGHT)
    limits = Limits(max_vertices=8, max_shapes=4, max_drafts=2)
    accepted = 0
    for actor, data in commands:
        try:
            command = parse_command(data)
        except Rejected:
            continue
        TRIED["decided"] += 1
        try:
            events = decide(state, command, Context(actor=actor, label_class_ids=LABELS, limits=limits))
        except Rejected as refusal:
            assert refusal.code in DOMAIN_CODES, refusal.code
            refusal_is_well_formed(refusal)
            continue
        accepted += 1
        for change in events:
            strict_json({"type": event_type(change), "payload": event_payload(change)})
            state = evolve(state, change)
        view = state_view(state)
        strict_json(view)
        for shape in view["shapes"] + view["drafts"]:
            for x, y in shape["points"]:
                assert math.isfinite(x) and math.isfinite(y)
                assert 0 <= x <= WIDTH and 0 <= y <= HEIGHT
        assert state_from_dict(json.loads(strict_json(state_to_dict(state)))) == state
    # Shown by --hypothesis-show-statistics: how deep the runs get past the parser.
    event(f"commands accepted: {min(accepted, 3)}{'+' if accepted >= 3 else ''}")
    event(f"closed shapes at the end: {min(len(state_view(state)['shapes']), 2)}")
