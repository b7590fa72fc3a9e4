"""Issue 20, point 5: a styled 404 and 403 with a way back (the page views render the 404 themselves,
DEBUG or not), and a favicon."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.views.defaults import permission_denied

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_styled_404(response: Any) -> None:
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page
    assert 'href="/"' in page and "Back to your jobs" in page
    assert "data-history-back" in page
    assert 'class="topbar"' in page  # the site's frame, not Django's bare page


@pytest.mark.parametrize("debug", [False, True])
def test_an_image_or_job_that_is_not_yours_gets_the_styled_404_debug_or_not(
    outsider: Any, item: Any, job: Any, debug: bool
) -> None:
    client = logged_in(outsider)
    with override_settings(DEBUG=debug):
        for url in (f"/items/{item.pk}/", f"/items/{item.pk}/replay/", f"/jobs/{job.pk}/", "/items/999999/"):
            assert_styled_404(client.get(url))


def test_an_address_that_matches_nothing_gets_the_styled_404(annotator: Any) -> None:
    assert_styled_404(logged_in(annotator).get("/no/such/page/"))


def test_the_api_still_answers_json_for_an_address_that_matches_nothing(annotator: Any) -> None:
    response = logged_in(annotator).get("/api/no/such/thing/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_forbidden_page_gets_the_styled_403() -> None:
    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    response = permission_denied(request, PermissionDenied())
    page = response.content.decode()

    assert response.status_code == 403
    assert "Not allowed" in page and "Back to your jobs" in page


def test_pages_carry_a_favicon_and_favicon_ico_leads_to_it(client: Any, annotator: Any) -> None:
    page = logged_in(annotator).get("/").content.decode()
    assert 'rel="icon"' in page and "polylog/favicon.svg" in page

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("polylog/favicon.svg")
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])
