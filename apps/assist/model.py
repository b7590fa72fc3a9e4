"""The model plug: the HTTP client of the model protocol (docs/assist.md, "The model server").

polylog POSTs the item's image (its stored bytes, base64) and the prompts to POLYLOG_ASSIST_MODEL_URL and
reads back polygons with scores. The model server is another program, often on another machine: it may be
down, slow or wrong, so every answer is read within one deadline (POLYLOG_ASSIST_MODEL_TIMEOUT, for the
whole exchange, not per socket read), bounded in size, and checked as strictly as a command's points before
anyone sees it. What fails says so with one of three codes (504 assist_model_timeout, 502
assist_model_unavailable, 502 assist_model_bad_answer), never a 500.

The client is the standard library's http.client: one POST, no redirects followed (a model server that
redirects is misconfigured, and a POST turned into a GET would lose the image), no retries (a person is
waiting; they can click again).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings

from apps.common.errors import ApiError
from apps.labeling.domain.errors import Rejected
from apps.labeling.domain.geometry import check_polygon, without_closing_point

from .proposals import Proposal, clean_polygon

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
# A vertex this far outside the image is moved onto its border (a model's mask resized back to the image
# can round half a pixel over); further out, the model is answering about another picture or another unit.
OVERSHOOT_PX = 2.0
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MAX_ANSWER_POLYGONS = 20
# A dense mask contour is thinned to the domain's vertex limit; past this, the answer is refused unread.
MAX_ANSWER_POINTS = 20_000
READ_CHUNK = 64 * 1024
DENSE_TOLERANCE_PX = 0.5


class ModelTimeout(ApiError):
    def __init__(self, timeout: float) -> None:
        super().__init__(
            504,
            "assist_model_timeout",
            f"The model server did not answer within {timeout:g} seconds; try again, or use another tool.",
        )


class ModelUnavailable(ApiError):
    def __init__(self, why: str) -> None:
        super().__init__(502, "assist_model_unavailable", f"The model server could not be reached: {why}.")


class ModelBadAnswer(ApiError):
    def __init__(self, why: str) -> None:
        super().__init__(502, "assist_model_bad_answer", f"The model server's answer is not usable: {why}.")


@dataclass(frozen=True)
class ModelImage:
    """What the model is told about the image: its size, its checksum (a model server may keep its
    embedding under it), and the file as stored."""

    id: int
    width: int
    height: int
    checksum: str
    content: bytes


def model_url() -> str:
    return (settings.POLYLOG_ASSIST_MODEL_URL or "").strip()


def model_timeout() -> float:
    return float(settings.POLYLOG_ASSIST_MODEL_TIMEOUT)


def model_token() -> str:
    return (settings.POLYLOG_ASSIST_MODEL_TOKEN or "").strip()


def request_body(image: ModelImage, points: Sequence[dict[str, Any]], box: Sequence[float] | None) -> bytes:
    """The protocol's request, as JSON bytes."""
    body = {
        "version": PROTOCOL_VERSION,
        "image": {
            "id": image.id,
            "width": image.width,
            "height": image.height,
            "checksum": image.checksum,
            "bytes_b64": base64.b64encode(image.content).decode("ascii"),
        },
        "points": [{"x": float(p["x"]), "y": float(p["y"]), "label": int(p["label"])} for p in points],
        "box": None if box is None else [float(v) for v in box],
    }
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


def post(url: str, body: bytes, timeout: float, token: str = "") -> bytes:
    """POST `body` to `url` and return the answer's body, all within `timeout` seconds."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed: a URL may hold credentials, and this message is shown to whoever clicked.
        raise ModelUnavailable("POLYLOG_ASSIST_MODEL_URL is not an http(s) URL")
    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.connect()
        sock = connection.sock  # kept: getresponse() may drop the connection's reference to it
        sock.settimeout(left())
        connection.request("POST", path, body=body, headers=headers)
        sock.settimeout(left())
        response = connection.getresponse()
        if not 200 <= response.status < 300:
            raise ModelUnavailable(f"it answered HTTP {response.status} {response.reason}".rstrip())
        chunks, size = [], 0
        while True:
            sock.settimeout(left())
            chunk = response.read1(READ_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise ModelBadAnswer(f"it is longer than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB")
            chunks.append(chunk)
        return b"".join(chunks)
    except TimeoutError:
        raise ModelTimeout(timeout) from None
    except ConnectionRefusedError:
        raise ModelUnavailable("the connection was refused (is it running?)") from None
    except (OSError, http.client.HTTPException) as error:
        raise ModelUnavailable(f"{type(error).__name__}: {error}".rstrip(": ")) from None
    finally:
        connection.close()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "null" if value is None else {bool: "a boolean", str: "a string"}.get(type(value), "")
        raise ModelBadAnswer(f"{what} is {kind or type(value).__name__}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer past any float
        number = math.inf
    if not math.isfinite(number):
        raise ModelBadAnswer(f"{what} is not a finite number")
    return number


def _points(value: Any, n: int, width: int, height: int) -> list[tuple[float, float]]:
    """A polygon's points as the model sent them, read strictly and clamped onto the image. The whole
    list is checked at once (a mask's contour has thousands of points), point by point only to name the
    first one that is wrong."""
    if not isinstance(value, list):
        raise ModelBadAnswer(f"polygons[{n}].points is not a list")
    if not 3 <= len(value) <= MAX_ANSWER_POINTS:
        raise ModelBadAnswer(f"polygons[{n}] has {len(value)} points (3 to {MAX_ANSWER_POINTS} are accepted)")
    numbers = (int, float)
    if not all(
        type(p) is list and len(p) == 2 and type(p[0]) in numbers and type(p[1]) in numbers for p in value
    ):
        for i, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ModelBadAnswer(f"polygons[{n}].points[{i}] is not an [x, y] pair")
            _number(pair[0], f"polygons[{n}].points[{i}][0]")
            _number(pair[1], f"polygons[{n}].points[{i}][1]")
    try:
        xy = np.array(value, dtype=np.float64)
    except OverflowError:  # an integer past any float
        xy = np.full((len(value), 2), np.inf)
    low, high = -OVERSHOOT_PX, np.array([width, height], dtype=np.float64) + OVERSHOOT_PX
    if not (np.isfinite(xy).all() and (xy >= low).all() and (xy <= high).all()):
        for i, (x, y) in enumerate(value):
            x = _number(x, f"polygons[{n}].points[{i}][0]")
            y = _number(y, f"polygons[{n}].points[{i}][1]")
            if not (low <= x <= high[0] and low <= y <= high[1]):
                raise ModelBadAnswer(
                    f"polygons[{n}].points[{i}] ({x:g}, {y:g}) lies outside the {width}x{height} image"
                )
    # Onto the image, and no -0.0 (a shape's points never carry one).
    clamped = np.clip(xy, 0.0, [float(width), float(height)]) + 0.0
    return [(x, y) for x, y in clamped.tolist()]


def as_given(
    points: list[tuple[float, float]], width: int, height: int, max_vertices: int
) -> list[list[float]] | None:
    """The model's own ring (its start, its turn, its values), when a command would take it as it is
    once a closing point and vertices repeated in a row are dropped (mask contours have both); else None,
    and clean_polygon mends it."""
    ring = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    ring = list(without_closing_point(tuple(ring)))
    try:
        check_polygon(ring, width, height, max_vertices)
    except Rejected:
        return None
    return [[x, y] for x, y in ring]


def proposals_from(body: bytes, width: int, height: int, max_vertices: int) -> list[Proposal]:
    """The answer's polygons, best score first: the answer refused whole (ModelBadAnswer) when it breaks
    the protocol; a well-formed polygon made valid as every tool's are (clean_polygon: a ring that crosses
    itself becomes its largest simple part, a dense one is thinned to `max_vertices`), or left out when
    nothing with an area remains."""
    try:
        answer = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ModelBadAnswer(f"it is not JSON ({str(error)[:80]})") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("polygons"), list):
        raise ModelBadAnswer('it is not an object with a "polygons" list')
    polygons = answer["polygons"]
    if len(polygons) > MAX_ANSWER_POLYGONS:
        raise ModelBadAnswer(f"it holds {len(polygons)} polygons; at most {MAX_ANSWER_POLYGONS} are accepted")
    proposals = []
    for n, polygon in enumerate(polygons):
        if not isinstance(polygon, dict):
            raise ModelBadAnswer(f"polygons[{n}] is not an object")
        if "score" not in polygon:
            raise ModelBadAnswer(f"polygons[{n}] has no score")
        score = _number(polygon["score"], f"polygons[{n}].score")
        if not 0 <= score <= 1:
            raise ModelBadAnswer(f"polygons[{n}].score is {score:g}, not between 0 and 1")
        points = _points(polygon.get("points"), n, width, height)
        # A contour over the vertex limit is simplified anyway: starting at half a pixel spares a check
        # of every vertex at 0 that can only fail (two thirds of a 5,000-point contour's time).
        thinning = DENSE_TOLERANCE_PX if len(points) > max_vertices else 0.0
        ring = as_given(points, width, height, max_vertices) or clean_polygon(
            points, width, height, tolerance=thinning, max_vertices=max_vertices
        )
        if ring is not None:
            proposals.append(Proposal(points=ring, score=score))
    return sorted(proposals, key=lambda p: -p.score)


def propose(
    image: ModelImage, points: Sequence[dict[str, Any]], box: Sequence[float] | None
) -> list[Proposal]:
    """Ask the configured model server for polygons for these prompts (the caller checked them)."""
    url, timeout = model_url(), model_timeout()
    started = time.monotonic()
    try:
        answer = post(url, request_body(image, points, box), timeout, model_token())
        proposals = proposals_from(answer, image.width, image.height, settings.POLYLOG["MAX_VERTICES"])
    except ApiError as error:
        log.warning("assist model: image %s: %s %s", image.id, error.code, error.message)
        raise
    log.info(
        "assist model: image %s: %d polygons in %.0f ms",
        image.id,
        len(proposals),
        (time.monotonic() - started) * 1000,
    )
    return proposals
