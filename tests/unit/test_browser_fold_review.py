"""The labeling page's own fold (frontend/static/polylog/label/store.js, `applyEvent`) keeps an item's review
and issues as the server's state view has them (issue 24, docs/review.md), and review events change none of
its shapes: streams decided by the pure domain are folded by the browser's module under Node and compared."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from apps.labeling.domain import (
    Context,
    Rejected,
    decide,
    event_payload,
    event_type,
    evolve,
    initial_state,
    parse_command,
    state_view,
)

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "frontend" / "static" / "polylog"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="Node.js is not installed: the browser fold runs under it"
)

# Folds the events over the first view with applyEvent, then reports what the page would show.
FOLD = """
import { applyEvent } from './label/store.js';
const { view, events } = JSON.parse(await new Promise((done) => {
  let text = ''; process.stdin.on('data', (c) => (text += c)); process.stdin.on('end', () => done(text));
}));
let state = {
  seq: view.seq, saved_seq: view.saved_seq, hard_example: view.hard_example, next_number: view.next_number,
  shapes: new Map(view.shapes.map((s) => [s.id, { ...s, group_id: s.group_id ?? null, attributes: {} }])),
  drafts: new Map(), review: view.review, issues: view.issues, edited: false,
};
const shapesAt = [];
for (const e of events) {
  state = { ...applyEvent(state, e.type, e.payload, e.actor), seq: e.seq };
  shapesAt.push([...state.shapes.values()].map((s) => [s.id, s.points]));
}
console.log(JSON.stringify({ review: state.review, issues: state.issues, shapesAt, edited: state.edited }));
"""


def fold_in_node(tmp_path: Path, view: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """Run FOLD over a copy of the page's modules (ES modules want a package.json saying so)."""
    shutil.copytree(STATIC, tmp_path / "polylog")
    (tmp_path / "polylog" / "package.json").write_text('{"type": "module"}')
    (tmp_path / "polylog" / "fold.js").write_text(FOLD)
    done = subprocess.run(
        [NODE, "fold.js"],
        cwd=tmp_path / "polylog",
        input=json.dumps({"view": view, "events": events}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


ANN, REV = 1, 2
SHAPE, OTHER = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
ISSUE, SECOND = str(uuid.UUID(int=11)), str(uuid.UUID(int=12))


def decided(steps: list[tuple[int, dict[str, Any]]]) -> tuple[Any, list[dict[str, Any]]]:
    state, wire = initial_state(100, 80), []
    for actor, command in steps:
        try:
            events = decide(
                state, parse_command(command), Context(actor=actor, label_class_ids=frozenset({1}))
            )
        except Rejected:
            continue
        for event in events:
            state = evolve(state, event)
            wire.append(
                {"seq": state.seq, "type": event_type(event), "payload": event_payload(event), "actor": actor}
            )
    return state, wire


def polygon(shape_id: str, x: float) -> dict[str, Any]:
    points = [[x, 10], [x + 10, 10], [x + 10, 20], [x, 20]]
    return {"type": "add_polygon", "shape_id": shape_id, "label_class_id": 1, "points": points}


def test_the_browser_fold_keeps_review_and_issues_as_the_server_does(tmp_path: Path) -> None:
    start, _ = decided([(ANN, polygon(SHAPE, 10)), (ANN, {"type": "save"})])
    issue = {
        "type": "open_issue",
        "issue_id": ISSUE,
        "x": 12,
        "y": 14.5,
        "shape_id": SHAPE,
        "text": "<i>off</i>",
    }
    state, events = decided(
        [
            (ANN, polygon(SHAPE, 10)),
            (ANN, {"type": "save"}),
            (REV, issue),
            (REV, {"type": "open_issue", "issue_id": SECOND, "x": 1, "y": 2, "text": "Missing\nthe cup"}),
            (REV, {"type": "reject_review", "reason": "Two things"}),
            (ANN, {"type": "comment_issue", "issue_id": ISSUE, "text": "Moved it"}),
            (ANN, {"type": "resolve_issue", "issue_id": ISSUE}),
            (ANN, {"type": "resolve_issue", "issue_id": SECOND}),
            (REV, {"type": "reopen_issue", "issue_id": SECOND}),
            (ANN, {"type": "resolve_issue", "issue_id": SECOND}),
            (ANN, polygon(OTHER, 40)),
            (ANN, {"type": "save"}),  # back to review
            (REV, {"type": "accept_review"}),
            (REV, {"type": "reopen_review"}),
        ]
    )
    first_view = state_view(start)
    after_save = events[2:]  # the page opened after the first save

    page = fold_in_node(tmp_path, first_view, after_save)

    server = state_view(state)
    assert page["review"] == server["review"]
    assert page["issues"] == server["issues"]
    assert page["edited"] is False  # the last change of the labels was saved; review is no edit


def test_review_events_change_no_shape_in_the_browser_fold(tmp_path: Path) -> None:
    state, events = decided(
        [
            (ANN, polygon(SHAPE, 10)),
            (ANN, {"type": "save"}),
            (REV, {"type": "open_issue", "issue_id": ISSUE, "x": 5, "y": 5, "text": "here"}),
            (REV, {"type": "reject_review", "reason": "no"}),
            (REV, {"type": "reopen_review"}),
            (ANN, {"type": "comment_issue", "issue_id": ISSUE, "text": "ok"}),
        ]
    )
    start, _ = decided([(ANN, polygon(SHAPE, 10)), (ANN, {"type": "save"})])

    page = fold_in_node(tmp_path, state_view(start), events[2:])

    assert all(shapes == page["shapesAt"][0] for shapes in page["shapesAt"])
    assert page["review"] == state_view(state)["review"]
