"""Bounded assist work: a process runs POLYLOG_ASSIST_CONCURRENCY proposals at once (then 503
assist_busy), a person POLYLOG_ASSIST_RATE of them (then 429 rate_limited)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from apps.assist.limits import assist_slot, parse_rate, rate_check
from apps.common.errors import ApiError


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("600/min", (600, 60)),
        ("5/sec", (5, 1)),
        ("100 / hour", (100, 3600)),
        ("10/5m", (10, 300)),
        ("", None),
    ],
)
def test_rates_read_as_count_per_seconds(rate: str, parsed: Any) -> None:
    assert parse_rate(rate) == parsed


def test_a_rate_that_is_not_one_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="POLYLOG_ASSIST_RATE"):
        parse_rate("lots")


def test_a_person_past_the_rate_is_refused_and_another_is_not(settings: Any) -> None:
    settings.POLYLOG_ASSIST_RATE = "3/hour"
    for _ in range(3):
        rate_check(1)

    with pytest.raises(ApiError) as refused:
        rate_check(1)
    rate_check(2)

    assert (refused.value.status_code, refused.value.code) == (429, "rate_limited")
    assert "At most 3 proposals every 3600 s" in refused.value.message


def test_no_rate_means_no_limit(settings: Any) -> None:
    settings.POLYLOG_ASSIST_RATE = ""
    for _ in range(1000):
        rate_check(1)


def test_slots_past_the_concurrency_answer_busy_after_the_wait(settings: Any) -> None:
    settings.POLYLOG_ASSIST_CONCURRENCY = 2
    settings.POLYLOG_ASSIST_WAIT_SECONDS = 0
    with assist_slot(), assist_slot(), pytest.raises(ApiError) as refused, assist_slot():
        pass
    with assist_slot():  # given back
        pass

    assert (refused.value.status_code, refused.value.code) == (503, "assist_busy")


def test_a_waiting_request_gets_the_slot_another_gives_back(settings: Any) -> None:
    settings.POLYLOG_ASSIST_CONCURRENCY = 1
    settings.POLYLOG_ASSIST_WAIT_SECONDS = 30
    taken, release, got = threading.Event(), threading.Event(), []

    def holder() -> None:
        with assist_slot():
            taken.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    taken.wait(30)
    release.set()
    with assist_slot():
        got.append(True)
    thread.join(30)

    assert got == [True]
