"""Assist prompts are read like commands: every field checked against the image before any pixel is
read, and anything wrong is a 400 invalid_prompt that names the field."""

from __future__ import annotations

from typing import Any

import pytest

from apps.assist.prompts import (
    BoxPrompt,
    LabeledPoint,
    ModelPrompt,
    ScissorsPrompt,
    WandPrompt,
    box_prompt,
    model_prompt,
    scissors_prompt,
    wand_prompt,
)
from apps.common.errors import ApiError

W, H = 200, 150


def refusal(parse: Any, data: Any) -> str:
    with pytest.raises(ApiError) as refused:
        parse(data, W, H)
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_prompt")
    return refused.value.message


def test_a_scissors_preview_reads_anchors_pointer_and_defaults() -> None:
    prompt = scissors_prompt({"anchors": [[1, 2], [3.5, 4]], "pointer": [200, 150]}, W, H)

    assert prompt == ScissorsPrompt(((1.0, 2.0), (3.5, 4.0)), (200.0, 150.0), False, 1.0)


def test_scissors_close_takes_two_anchors_and_the_pointer() -> None:
    prompt = scissors_prompt({"anchors": [[1, 2], [30, 4]], "pointer": [9, 90], "close": True}, W, H)

    assert prompt.close and prompt.pointer == (9.0, 90.0)


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ([], "JSON object"),
        ({"pointer": [1, 1]}, "anchors must be a list"),
        ({"anchors": [], "pointer": [1, 1]}, "anchors holds 1 to 500"),
        ({"anchors": [[1, 1]] * 501, "pointer": [1, 1]}, "it has 501"),
        ({"anchors": [[1, 1]]}, "needs the pointer"),
        ({"anchors": [[1, 1], [2, 2]], "close": True}, "at least 3 anchors"),
        ({"anchors": [[1, 1]], "pointer": [1, 1], "close": "yes"}, "close must be true or false"),
        ({"anchors": [[1, "2"]], "pointer": [1, 1]}, "anchors[0][1] must be a number, not a string"),
        ({"anchors": [[1, True]], "pointer": [1, 1]}, "not a boolean"),
        ({"anchors": [[1, 1e400]], "pointer": [1, 1]}, "not a finite number"),
        ({"anchors": [[1, 10**400]], "pointer": [1, 1]}, "not a finite number"),
        ({"anchors": [[1, 2, 3]], "pointer": [1, 1]}, "a pair [x, y]"),
        ({"anchors": [[-0.5, 2]], "pointer": [1, 1]}, "lies outside the 200x150 image"),
        ({"anchors": [[1, 2]], "pointer": [200.01, 1]}, "pointer (200.01, 1) lies outside"),
        ({"anchors": [[1, 2]], "pointer": [1, 1], "tolerance": 51}, "between 0 and 50"),
        ({"anchors": [[1, 2]], "pointer": [1, 1], "tolerance": float("nan")}, "not a finite number"),
    ],
)
def test_bad_scissors_prompts_are_refused_naming_the_field(data: Any, names: str) -> None:
    assert names in refusal(scissors_prompt, data)


def test_a_box_is_put_in_order_with_its_points() -> None:
    data = {"box": [150, 100, 10, 20], "points": [{"x": 5, "y": 6, "label": 0}], "tolerance": 0}

    assert box_prompt(data, W, H) == BoxPrompt((10.0, 20.0, 150.0, 100.0), (LabeledPoint(5, 6, 0),), 0.0)


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({}, "box must be [x0, y0, x1, y1], not null"),
        ({"box": [1, 2, 3]}, "box must be"),
        ({"box": [10, 10, 10, 90]}, "has no area"),
        ({"box": [10, 10, 10.5, 90]}, "has no area"),
        ({"box": [10, 10, 300, 90]}, "outside the 200x150 image"),
        ({"box": [10, 10, 50, 90], "points": [{"x": 1, "y": 1}]}, "label must be 1"),
        ({"box": [10, 10, 50, 90], "points": [{"x": 1, "y": 1, "label": True}]}, "label must be 1"),
        ({"box": [10, 10, 50, 90], "points": [{"x": 1, "y": 1, "label": 2}]}, "label must be 1"),
        ({"box": [10, 10, 50, 90], "points": [{"x": 1, "y": 999, "label": 1}]}, "points[0] (1, 999)"),
        ({"box": [10, 10, 50, 90], "points": [[1, 1]]}, "points[0] must be an object"),
        ({"box": [10, 10, 50, 90], "points": [{"x": 1, "y": 1, "label": 1}] * 51}, "0 to 50"),
        ({"box": [10, 10, 50, 90], "points": {"x": 1}}, "points must be a list"),
    ],
)
def test_bad_box_prompts_are_refused_naming_the_field(data: Any, names: str) -> None:
    assert names in refusal(box_prompt, data)


def test_a_wand_click_takes_its_defaults() -> None:
    assert wand_prompt({"point": [0, 150]}, W, H) == WandPrompt((0.0, 150.0), 32.0, 1.0)


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({}, "point must be a pair"),
        ({"point": [1, 1], "tolerance": 256}, "between 0 and 255"),
        ({"point": [1, 1], "tolerance": -1}, "between 0 and 255"),
        ({"point": [1, 1], "simplify": "1"}, "simplify must be a number"),
        ({"point": [201, 1]}, "outside"),
    ],
)
def test_bad_wand_prompts_are_refused_naming_the_field(data: Any, names: str) -> None:
    assert names in refusal(wand_prompt, data)


def test_a_model_prompt_needs_a_point_or_a_box() -> None:
    assert "at least one point or a box" in refusal(model_prompt, {"points": [], "box": None})
    assert model_prompt({"box": [1, 1, 9, 9]}, W, H) == ModelPrompt((), (1.0, 1.0, 9.0, 9.0))
