"""The model plug's client (apps/assist/model.py) against real HTTP servers on loopback: what it sends,
how it reads a good answer, and each way a model server can fail (slow, dripping, down, HTTP errors,
malformed answers), each with its own code."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest

from apps.assist.model import (
    MAX_ANSWER_BYTES,
    MAX_ANSWER_POLYGONS,
    ModelBadAnswer,
    ModelImage,
    ModelTimeout,
    ModelUnavailable,
    post,
    proposals_from,
    propose,
    request_body,
)
from tests.assist_model_servers import (
    answering,
    closed_port_url,
    dripping,
    fake_model,
    image_bytes_sent,
    model_server,
    self_signed,
    stalling,
)
from tests.conftest import png_bytes

WIDTH, HEIGHT = 100, 80
IMAGE = ModelImage(id=7, width=WIDTH, height=HEIGHT, checksum="ab" * 32, content=png_bytes(WIDTH, HEIGHT))
BOX = [20.0, 10.0, 60.0, 50.0]
SHORT = 0.3  # seconds: a timeout the stalling servers are sure to pass


def answer(*polygons: dict[str, Any]) -> bytes:
    return json.dumps({"polygons": list(polygons)}).encode()


def read(body: bytes | str) -> list[Any]:
    data = body.encode() if isinstance(body, str) else body
    return proposals_from(data, WIDTH, HEIGHT, max_vertices=1000)


@pytest.fixture
def configured(settings: Any) -> Any:
    settings.POLYLOG_ASSIST_MODEL_TIMEOUT = 5
    settings.POLYLOG_ASSIST_MODEL_TOKEN = ""
    return settings


# What is sent, and a good answer ------------------------------------------------------------------


def test_it_sends_the_image_bytes_and_the_prompts_and_returns_the_models_polygon(configured: Any) -> None:
    points = [{"x": 30.5, "y": 20, "label": 1}, {"x": 5, "y": 5, "label": 0}]
    with model_server(fake_model) as server:
        configured.POLYLOG_ASSIST_MODEL_URL = server.url
        proposals = propose(IMAGE, points, BOX)

    [sent] = server.received
    assert sent["version"] == 1
    assert {k: sent["image"][k] for k in ("id", "width", "height", "checksum")} == {
        "id": 7,
        "width": WIDTH,
        "height": HEIGHT,
        "checksum": "ab" * 32,
    }
    assert image_bytes_sent(sent) == IMAGE.content
    assert sent["points"] == [{"x": 30.5, "y": 20.0, "label": 1}, {"x": 5.0, "y": 5.0, "label": 0}]
    assert sent["box"] == BOX
    assert server.headers_received[0]["Content-Type"] == "application/json"
    assert "Authorization" not in server.headers_received[0]
    assert [(p.points, p.score) for p in proposals] == [([[40, 10], [60, 30], [40, 50], [20, 30]], 0.9)]


def test_a_point_without_a_box_is_sent_with_box_null(configured: Any) -> None:
    with model_server(fake_model) as server:
        configured.POLYLOG_ASSIST_MODEL_URL = server.url
        proposals = propose(IMAGE, [{"x": 50, "y": 40, "label": 1}], None)

    assert server.received[0]["box"] is None
    assert [(p.points, p.score) for p in proposals] == [([[45, 35], [55, 35], [55, 45], [45, 45]], 0.8)]


def test_the_token_setting_is_sent_as_a_bearer_token(configured: Any) -> None:
    configured.POLYLOG_ASSIST_MODEL_TOKEN = "s3cret"
    with model_server(fake_model) as server:
        configured.POLYLOG_ASSIST_MODEL_URL = server.url
        propose(IMAGE, [], BOX)

    assert server.headers_received[0]["Authorization"] == "Bearer s3cret"


def test_the_request_is_plain_json_with_the_file_as_base64() -> None:
    body = json.loads(request_body(IMAGE, [], BOX))

    assert base64.b64decode(body["image"]["bytes_b64"]) == IMAGE.content
    assert set(body) == {"version", "image", "points", "box"}


def test_polygons_come_best_score_first() -> None:
    low = {"points": [[0, 0], [10, 0], [10, 10]], "score": 0.2}
    high = {"points": [[20, 20], [30, 20], [30, 30]], "score": 0.7}

    assert [p.score for p in read(answer(low, high))] == [0.7, 0.2]


def test_an_answer_of_no_polygons_is_no_proposal_not_an_error() -> None:
    assert read(answer()) == []


def test_extra_keys_in_the_answer_are_ignored() -> None:
    body = {"polygons": [{"points": [[0, 0], [10, 0], [10, 10]], "score": 1, "label": "cat"}], "ms": 12}

    assert [p.points for p in read(json.dumps(body))] == [[[0, 0], [10, 0], [10, 10]]]


# Tidying what is well formed ----------------------------------------------------------------------


def test_a_small_overshoot_is_clamped_onto_the_border() -> None:
    [proposal] = read(answer({"points": [[-1.5, -0.5], [101, 0], [100.5, 81.9], [0, 80]], "score": 1}))

    assert proposal.points == [[0, 0], [100, 0], [100, 80], [0, 80]]


def test_a_closing_point_and_repeated_vertices_are_dropped() -> None:
    ring = [[0, 0], [10, 0], [10, 0], [10, 10], [0, 10], [0, 0]]

    [proposal] = read(answer({"points": ring, "score": 1}))

    assert proposal.points == [[0, 0], [10, 0], [10, 10], [0, 10]]


def test_a_ring_that_crosses_itself_becomes_its_largest_simple_part() -> None:
    # A bow-tie whose right lobe is the larger: the proposal is that lobe, a simple polygon.
    bow_tie = [[0, 0], [40, 40], [40, 0], [0, 20]]

    [proposal] = read(answer({"points": bow_tie, "score": 1}))

    import shapely

    polygon = shapely.Polygon(proposal.points)
    assert polygon.is_valid
    assert polygon.bounds[2] == 40 and polygon.bounds[0] > 0


def test_a_dense_outline_is_thinned_to_the_vertex_limit() -> None:
    circle = [
        [50 + 30 * math.cos(t / 800 * math.tau), 40 + 30 * math.sin(t / 800 * math.tau)] for t in range(800)
    ]

    [proposal] = proposals_from(answer({"points": circle, "score": 1}), WIDTH, HEIGHT, max_vertices=100)

    assert 3 <= len(proposal.points) <= 100
    assert all(math.dist(p, (50, 40)) == pytest.approx(30, abs=2) for p in proposal.points)


def test_a_polygon_without_area_is_left_out() -> None:
    flat = {"points": [[0, 0], [10, 10], [20, 20]], "score": 1}
    good = {"points": [[0, 0], [10, 0], [10, 10]], "score": 0.5}

    assert [p.score for p in read(answer(flat, good))] == [0.5]


# Malformed answers: 502 assist_model_bad_answer ----------------------------------------------------

MALFORMED = {
    "not JSON": b"<html>oops</html>",
    "empty": b"",
    "a list": b"[]",
    "no polygons key": b'{"masks": []}',
    "polygons not a list": b'{"polygons": {}}',
    "a polygon not an object": b'{"polygons": [[[0, 0], [1, 0], [1, 1]]]}',
    "no score": b'{"polygons": [{"points": [[0, 0], [10, 0], [10, 10]]}]}',
    "score above 1": b'{"polygons": [{"points": [[0, 0], [10, 0], [10, 10]], "score": 2}]}',
    "score a string": b'{"polygons": [{"points": [[0, 0], [10, 0], [10, 10]], "score": "high"}]}',
    "NaN": b'{"polygons": [{"points": [[NaN, 0], [10, 0], [10, 10]], "score": 1}]}',
    "Infinity": b'{"polygons": [{"points": [[Infinity, 0], [10, 0], [10, 10]], "score": 1}]}',
    "overflow to infinity": b'{"polygons": [{"points": [[1e999, 0], [10, 0], [10, 10]], "score": 1}]}',
    "an integer past any float": b'{"polygons": [{"points": [[1'
    + b"0" * 400
    + b', 0], [9, 0], [9, 9]], "score": 1}]}',
    "a boolean coordinate": b'{"polygons": [{"points": [[true, 0], [10, 0], [10, 10]], "score": 1}]}',
    "a point of three numbers": b'{"polygons": [{"points": [[0, 0, 1], [10, 0], [10, 10]], "score": 1}]}',
    "points as objects": b'{"polygons": [{"points": [{"x": 0, "y": 0}, {"x": 9, "y": 0}, {"x": 9, "y": 9}], '
    b'"score": 1}]}',
    "too few points": b'{"polygons": [{"points": [[0, 0], [10, 0]], "score": 1}]}',
    "points outside the image": b'{"polygons": [{"points": [[0, 0], [500, 0], [500, 500]], "score": 1}]}',
    "negative far outside": b'{"polygons": [{"points": [[-10, 0], [10, 0], [10, 10]], "score": 1}]}',
    "too many polygons": answer(
        *[{"points": [[0, 0], [10, 0], [10, 10]], "score": 1}] * (MAX_ANSWER_POLYGONS + 1)
    ),
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_is_a_bad_answer(body: bytes) -> None:
    with pytest.raises(ModelBadAnswer) as refused:
        read(body)

    assert (refused.value.status_code, refused.value.code) == (502, "assist_model_bad_answer")
    assert refused.value.message.startswith("The model server's answer is not usable: ")


def test_a_bad_answer_names_what_is_wrong() -> None:
    with pytest.raises(
        ModelBadAnswer, match=r"polygons\[0\]\.points\[1\] \(500, 0\) lies outside the 100x80"
    ):
        read(MALFORMED["points outside the image"])


def test_a_malformed_answer_over_http_is_a_bad_answer(configured: Any) -> None:
    with model_server(answering(b'{"polygons": [{"points": [[0, 0], [1, 1]], "score": 1}]}')) as server:
        configured.POLYLOG_ASSIST_MODEL_URL = server.url
        with pytest.raises(ModelBadAnswer, match="polygons\\[0\\] has 2 points"):
            propose(IMAGE, [], BOX)


def test_an_answer_too_long_is_refused_unread(configured: Any) -> None:
    too_long = answering(b" " * (MAX_ANSWER_BYTES + 1))
    with model_server(too_long) as server, pytest.raises(ModelBadAnswer, match="longer than 8 MiB"):
        post(server.url, b"{}", timeout=5)


# Slow, down, HTTP errors ----------------------------------------------------------------------------


def test_a_server_slower_than_the_timeout_is_a_timeout(configured: Any) -> None:
    configured.POLYLOG_ASSIST_MODEL_TIMEOUT = SHORT
    with model_server(stalling) as server:
        configured.POLYLOG_ASSIST_MODEL_URL = server.url
        with pytest.raises(ModelTimeout) as refused:
            propose(IMAGE, [], BOX)

    assert (refused.value.status_code, refused.value.code) == (504, "assist_model_timeout")
    assert "did not answer within 0.3 seconds" in refused.value.message


def test_an_answer_dripping_past_the_timeout_is_a_timeout() -> None:
    """Every read gets a byte in time; the deadline is for the whole answer."""
    with model_server(dripping) as server, pytest.raises(ModelTimeout):
        post(server.url, b"{}", timeout=SHORT)


def test_a_server_that_is_down_is_unavailable(configured: Any) -> None:
    configured.POLYLOG_ASSIST_MODEL_URL = closed_port_url()

    with pytest.raises(ModelUnavailable) as refused:
        propose(IMAGE, [], BOX)

    assert (refused.value.status_code, refused.value.code) == (502, "assist_model_unavailable")
    assert "refused" in refused.value.message


@pytest.mark.parametrize("status", [500, 503, 404, 401, 302])
def test_an_http_error_or_redirect_is_unavailable(status: int) -> None:
    failing = answering(b'{"polygons": []}', status=status)
    with model_server(failing) as server, pytest.raises(ModelUnavailable, match=f"it answered HTTP {status}"):
        post(server.url, b"{}", timeout=5)

    assert len(server.received) == 1  # a redirect is not followed


def test_a_host_that_does_not_resolve_is_unavailable() -> None:
    with pytest.raises(ModelUnavailable):
        post("http://no-such-host.invalid/segment", b"{}", timeout=5)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "127.0.0.1:9000", "http://"])
def test_a_url_that_is_not_http_is_unavailable(url: str) -> None:
    with pytest.raises(ModelUnavailable, match="not an http\\(s\\) URL"):
        post(url, b"{}", timeout=5)


# HTTPS ------------------------------------------------------------------------------------------------


def test_over_https_the_certificate_is_verified(tmp_path: Any) -> None:
    with model_server(fake_model, tls=self_signed(tmp_path)) as server:
        assert server.url.startswith("https://")
        with pytest.raises(ModelUnavailable, match="SSLCertVerificationError"):
            post(server.url, request_body(IMAGE, [], BOX), timeout=5)

    assert server.received == []


def test_over_https_a_trusted_server_answers(tmp_path: Any, monkeypatch: Any) -> None:
    certificate, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", certificate)  # the default context trusts it, as an installed CA

    with model_server(fake_model, tls=(certificate, key)) as server:
        answer = post(server.url, request_body(IMAGE, [], BOX), timeout=5)

    assert [p.points for p in proposals_from(answer, WIDTH, HEIGHT, 1000)] == [
        [[40, 10], [60, 30], [40, 50], [20, 30]]
    ]
