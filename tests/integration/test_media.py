"""/media/<name>: stored image files are served to signed-in people who may see them."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_a_member_gets_the_image_file(item: Any, annotator: Any, client: Any) -> None:
    client.force_login(annotator)

    response = client.get(item.image.file.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_an_anonymous_visitor_is_sent_to_log_in(item: Any, client: Any) -> None:
    response = client.get(item.image.file.url)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_missing_file_is_not_found(item: Any, annotator: Any, client: Any) -> None:
    client.force_login(annotator)

    assert client.get("/media/datasets/nothing-here.png").status_code == 404


@pytest.mark.parametrize("name", ["../../etc/passwd", "datasets/%2e%2e/%2e%2e/%2e%2e/etc/passwd"])
def test_a_name_that_climbs_out_of_the_storage_is_refused(annotator: Any, client: Any, name: str) -> None:
    client.force_login(annotator)

    response = client.get(f"/media/{name}")

    assert response.status_code in (400, 404)
    assert b"root:" not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_a_non_member_cannot_fetch_a_jobs_image(item: Any, outsider: Any, client: Any) -> None:
    client.force_login(outsider)

    response = client.get(item.image.file.url)

    assert response.status_code == 404
