"""Failed logins are counted per username and per client address, on the API's token login and on the login
page (and admin's): past the limit, every login of that username or from that address is refused with 429
and Retry-After, the right password too, until the window has passed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"
LOGIN_URL = "/accounts/login/"
WINDOW = 600


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    """Small limits, so that a test reaches them in a few requests; each test sets the one it tries."""
    settings.POLYLOG = {
        **settings.POLYLOG,
        "LOGIN_FAILURES": 3,
        "LOGIN_FAILURES_PER_ADDRESS": 5,
        "LOGIN_WINDOW_SECONDS": WINDOW,
        "BEHIND_PROXY": False,
    }


def api_login(username: str, password: str, address: str = "10.0.0.1", **headers: str) -> Any:
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address, **headers
    )


def page_login(username: str, password: str, address: str = "10.0.0.1", **headers: str) -> Any:
    return Client().post(
        LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


LOGINS = {"api": api_login, "page": page_login}
ALLOWED = {"api": 200, "page": 302}  # the page sends a signed-in browser on


def assert_throttled(route: str, response: Any) -> None:
    assert response.status_code == 429, response.content
    assert 0 < int(response["Retry-After"]) <= WINDOW
    if route == "api":
        assert response.json()["code"] == "too_many_attempts"
        assert "Try again in 10 minutes" in response.json()["message"]
    else:
        assert "Try again in 10 minutes" in response.content.decode()
        assert 'name="password"' in response.content.decode()  # the form is still there, for later


@pytest.mark.parametrize("route", LOGINS)
def test_a_username_over_the_limit_is_refused_even_with_the_right_password(
    route: str, annotator: Any
) -> None:
    login = LOGINS[route]
    for n in range(3):
        assert login(annotator.username, f"wrong-{n}", address=f"10.0.0.{n}").status_code != 429

    right = login(annotator.username, PASSWORD, address="10.9.9.9")  # from yet another address

    assert_throttled(route, right)


@pytest.mark.parametrize("route", LOGINS)
def test_an_address_over_the_limit_is_refused_whoever_logs_in(
    route: str, annotator: Any, annotator2: Any
) -> None:
    login = LOGINS[route]
    for n in range(5):
        assert login(f"guess-{n}", "wrong", address="10.0.0.7").status_code != 429

    same_address = login(annotator.username, PASSWORD, address="10.0.0.7")
    elsewhere = login(annotator2.username, PASSWORD, address="10.0.0.8")

    assert_throttled(route, same_address)
    assert elsewhere.status_code == ALLOWED[route]


def test_spellings_of_one_username_share_its_count(annotator: Any) -> None:
    name = annotator.username
    for n, spelling in enumerate([f" {name}", f"{name.upper()} ", f"{name}\t"]):
        api_login(spelling, "wrong", address=f"10.0.2.{n}")

    assert_throttled("api", api_login(name, PASSWORD))


def test_failures_on_the_page_and_the_api_count_together(annotator: Any) -> None:
    page_login(annotator.username, "wrong-1")
    api_login(annotator.username, "wrong-2")
    page_login(annotator.username, "wrong-3")

    assert_throttled("api", api_login(annotator.username, PASSWORD))


@pytest.mark.parametrize(("limit", "allowed"), [(2, False), (4, True)])
def test_the_limit_is_a_setting(settings: Any, annotator: Any, limit: int, allowed: bool) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "LOGIN_FAILURES": limit}
    for n in range(2):
        api_login(annotator.username, f"wrong-{n}")

    right = api_login(annotator.username, PASSWORD)

    assert right.status_code == (200 if allowed else 429)


def test_a_right_password_forgives_the_usernames_earlier_mistakes(annotator: Any) -> None:
    for _ in range(2):
        for n in range(2):
            api_login(annotator.username, f"wrong-{n}", address=f"10.0.1.{n}")
        assert api_login(annotator.username, PASSWORD).status_code == 200


def test_the_refusal_ends_with_the_window(monkeypatch: Any, annotator: Any) -> None:
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)  # the cache's expiry reads the same clock
    for n in range(3):
        api_login(annotator.username, f"wrong-{n}")
    refused = api_login(annotator.username, PASSWORD)

    monkeypatch.setattr(time, "time", lambda: now + WINDOW - 1)
    still_refused = api_login(annotator.username, PASSWORD)
    monkeypatch.setattr(time, "time", lambda: now + WINDOW + 1)
    allowed = api_login(annotator.username, PASSWORD)

    assert refused["Retry-After"] == str(WINDOW)
    assert (still_refused.status_code, still_refused["Retry-After"]) == (429, "1")
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("behind_proxy", "throttled"),
    [(False, True), (True, False)],
    ids=["x-forwarded-for-ignored-without-a-proxy", "x-forwarded-for-read-behind-the-proxy"],
)
def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    settings: Any, annotator: Any, behind_proxy: bool, throttled: bool
) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "BEHIND_PROXY": behind_proxy}
    for n in range(5):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"}
        api_login(f"guess-{n}", "wrong", address="10.0.0.1", **forwarded)

    right = api_login(annotator.username, PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert right.status_code == (429 if throttled else 200)


def test_a_client_cannot_pick_its_address_by_prepending_to_x_forwarded_for(
    settings: Any, annotator: Any
) -> None:
    """The proxy appends the address it saw: only the last entry is the proxy's word."""
    settings.POLYLOG = {**settings.POLYLOG, "BEHIND_PROXY": True}
    for n in range(5):
        api_login(f"guess-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.5")

    right = api_login(annotator.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.5")

    assert right.status_code == 429


def test_addresses_of_one_ipv6_block_count_together(annotator: Any) -> None:
    for n in range(5):
        api_login(f"guess-{n}", "wrong", address=f"2001:db8:1:2::{n + 1:x}")

    same_block = api_login(annotator.username, PASSWORD, address="2001:db8:1:2:ffff::1")
    other_block = api_login(annotator.username, PASSWORD, address="2001:db8:1:3::1")

    assert (same_block.status_code, other_block.status_code) == (429, 200)


def test_a_throttled_login_issues_no_token_and_no_session(annotator: Any) -> None:
    for n in range(3):
        api_login(annotator.username, f"wrong-{n}")
    browser = Client()

    browser.post(LOGIN_URL, {"username": annotator.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    api_login(annotator.username, PASSWORD)

    assert browser.get("/api/jobs/").status_code in (401, 403)
    assert not annotator.auth_token_set.exists()


def test_the_admin_login_is_throttled_too(make_user: Callable[..., Any]) -> None:
    boss = make_user("root_admin", is_staff=True, is_superuser=True)
    for n in range(3):
        Client().post("/admin/login/", {"username": boss.username, "password": f"wrong-{n}"})
    browser = Client()

    response = browser.post("/admin/login/", {"username": boss.username, "password": PASSWORD})

    assert response.status_code == 200  # the form again, with the refusal; no redirect into admin
    assert "Try again in 10 minutes" in response.content.decode()
    assert browser.get("/admin/").status_code == 302
