"""Intelligent scissors: the path from an anchor to the pointer that follows the image's strongest edges.

OpenCV's IntelligentScissorsMB computes edge features of an image (applyImage), then from one source
pixel a map of cheapest paths to every pixel (buildMap, a Dijkstra over the whole image given to it), from
which each target's path is a walk back (getContour, microseconds). The map is what costs: ~0.2 us a
pixel, half a second for a whole 2-megapixel photo. So the tool is given a window of the image around the
anchor, large enough for where the pointer is (twice the distance, at least MIN_HALF pixels each way):
the edge map of an anchor is built once, kept in the assist cache (apps/assist/images.py), and every
preview from that anchor while the pointer stays inside its window is only a getContour. A pointer that
leaves the window gets a map twice as large. Closing walks the same maps from each anchor to the next, so
the closed outline is the previews the person saw.

Coordinates: the tool works on pixels; a path's inner points are pixel centres (x + 0.5), and its two
ends are the anchor and the pointer exactly as sent.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

import cv2
import numpy as np
from shapely.geometry import LineString

from .images import ByteLRU
from .prompts import Point, ScissorsPrompt
from .proposals import MAX_VERTICES, Proposal, clean_polygon

MIN_HALF = 160  # px each way from the anchor: a map of at most 320x320 for a short segment (~20 ms)
MARGIN = 16  # a pointer this close to a window's inner edge gets a larger map (the path may need room)
BYTES_PER_PIXEL = 32  # features and map of one pixel, as measured (RSS) with some headroom
CANNY_LOW, CANNY_HIGH = 32, 100
GRADIENT_LIMIT = 200  # fixed, not the window's own maximum: windows of one image weigh edges alike
# Bounds on one request's work: a map covers at most MAX_MAP_PIXELS (~1 s, ~130 MB), and a close builds at
# most CLOSE_MAP_PIXELS of new maps (a few seconds); past them a segment is a straight line.
MAX_MAP_PIXELS = 4_000_000
CLOSE_MAP_PIXELS = 16_000_000


class NoPath(Exception):
    """The tool found no path (it does not happen on a connected window; kept for the caller's 422)."""


@dataclass(frozen=True)
class EdgeMap:
    """The cheapest paths from one source pixel to every pixel of a window of the image."""

    source: tuple[int, int]
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), image pixels
    tool: cv2.segmentation.IntelligentScissorsMB
    image_size: tuple[int, int]  # width, height

    def reaches(self, target: tuple[int, int]) -> bool:
        """Whether a path to `target` found here is as good as in the whole image: the target lies inside
        the window, away from its inner edges (edges on the image's border are no limit)."""
        x0, y0, x1, y1 = self.window
        width, height = self.image_size
        tx, ty = target
        return (
            (x0 == 0 or tx >= x0 + MARGIN)
            and (y0 == 0 or ty >= y0 + MARGIN)
            and (x1 == width or tx < x1 - MARGIN)
            and (y1 == height or ty < y1 - MARGIN)
            and x0 <= tx < x1
            and y0 <= ty < y1
        )

    @property
    def half(self) -> int:
        x0, y0, x1, y1 = self.window
        return max(x1 - x0, y1 - y0) // 2

    def path(self, target: tuple[int, int]) -> np.ndarray:
        """The pixels from the source to `target` (both included), as an Nx2 int array in image pixels."""
        x0, y0 = self.window[:2]
        contour = self.tool.getContour((target[0] - x0, target[1] - y0))
        found = np.asarray(contour, dtype=np.int64).reshape(-1, 2)
        if len(found) == 0:
            raise NoPath(f"no path from {self.source} to {target}")
        return found + (x0, y0)


def pixel_of(point: Point, width: int, height: int) -> tuple[int, int]:
    """The pixel a point lies in (a point on the right or bottom border: the last pixel)."""
    return min(int(math.floor(point[0])), width - 1), min(int(math.floor(point[1])), height - 1)


def _window(source: tuple[int, int], half: int, width: int, height: int) -> tuple[int, int, int, int]:
    sx, sy = source
    return max(0, sx - half), max(0, sy - half), min(width, sx + half + 1), min(height, sy + half + 1)


def build_map(pixels: np.ndarray, source: tuple[int, int], half: int) -> EdgeMap:
    height, width = pixels.shape[:2]
    window = _window(source, half, width, height)
    x0, y0, x1, y1 = window
    tool = cv2.segmentation.IntelligentScissorsMB()
    tool.setEdgeFeatureCannyParameters(CANNY_LOW, CANNY_HIGH)
    tool.setGradientMagnitudeMaxLimit(GRADIENT_LIMIT)
    tool.applyImage(np.ascontiguousarray(pixels[y0:y1, x0:x1]))
    tool.buildMap((source[0] - x0, source[1] - y0))
    return EdgeMap(source, window, tool, (width, height))


class Budget:
    """The pixels of new edge maps one request may still build. A closing request may name 500 anchors,
    each needing a map: zigzagged across a large image, that is minutes of work in one request."""

    def __init__(self, pixels: int) -> None:
        self.left = pixels

    def spend(self, pixels: int) -> bool:
        if pixels > self.left:
            return False
        self.left -= pixels
        return True


def edge_map(
    pixels: np.ndarray,
    source: tuple[int, int],
    target: tuple[int, int],
    cache: ByteLRU | None = None,
    image_key: Hashable = None,
    budget: Budget | None = None,
) -> EdgeMap | None:
    """The source's edge map reaching `target`: the cached one, or one built (and cached) for it; None
    when reaching it would need a map over MAX_MAP_PIXELS or past the request's budget."""
    height, width = pixels.shape[:2]
    key = ("scissors", image_key, source)
    found: EdgeMap | None = cache.get(key) if cache is not None else None
    if found is not None and found.reaches(target):
        return found
    distance = max(abs(target[0] - source[0]), abs(target[1] - source[1]))
    half = max(MIN_HALF, 2 * distance + MARGIN, 2 * found.half if found is not None else 0)
    x0, y0, x1, y1 = _window(source, half, width, height)
    area = (x1 - x0) * (y1 - y0)
    if area > MAX_MAP_PIXELS:
        # Not grown past the cap: a window that fits reaches the target if any of that size does.
        half = distance + MARGIN
        x0, y0, x1, y1 = _window(source, half, width, height)
        area = (x1 - x0) * (y1 - y0)
        if area > MAX_MAP_PIXELS:
            return None
    if budget is not None and not budget.spend(area):
        return None
    built = build_map(pixels, source, half)
    if not built.reaches(target) and not (x0 <= target[0] < x1 and y0 <= target[1] < y1):
        return None
    if cache is not None:
        cache.put(key, built, area * BYTES_PER_PIXEL)
    return built


def segment(
    pixels: np.ndarray,
    start: Point,
    end: Point,
    cache: ByteLRU | None = None,
    image_key: Hashable = None,
    budget: Budget | None = None,
) -> list[list[float]]:
    """The edge-following path from `start` to `end`: both exactly as given, pixel centres between; a
    straight line when the two are too far apart for an edge map (MAX_MAP_PIXELS, the budget)."""
    height, width = pixels.shape[:2]
    source, target = pixel_of(start, width, height), pixel_of(end, width, height)
    found = edge_map(pixels, source, target, cache, image_key, budget)
    inner = found.path(target)[1:-1] + 0.5 if found is not None else np.empty((0, 2))
    return [[float(start[0]), float(start[1])], *inner.tolist(), [float(end[0]), float(end[1])]]


def preview(
    pixels: np.ndarray, prompt: ScissorsPrompt, cache: ByteLRU | None = None, image_key: Hashable = None
) -> Proposal:
    """The live path from the last anchor to the pointer, simplified to the prompt's tolerance."""
    assert prompt.pointer is not None
    path = segment(pixels, prompt.anchors[-1], prompt.pointer, cache, image_key)
    if prompt.tolerance > 0 and len(path) > 2:
        path = [[float(x), float(y)] for x, y in LineString(path).simplify(prompt.tolerance).coords]
    return Proposal(points=path, score=1.0)


def close(
    pixels: np.ndarray,
    prompt: ScissorsPrompt,
    cache: ByteLRU | None = None,
    image_key: Hashable = None,
    max_vertices: int = MAX_VERTICES,
) -> Proposal | None:
    """The closed outline through every anchor (and the pointer, when sent) and back to the first, made a
    valid polygon and simplified to the prompt's tolerance; None when it encloses nothing."""
    stops = [*prompt.anchors, *([prompt.pointer] if prompt.pointer is not None else [])]
    budget = Budget(CLOSE_MAP_PIXELS)
    ring: list[list[float]] = []
    for start, end in zip(stops, [*stops[1:], stops[0]], strict=True):
        ring += segment(pixels, start, end, cache, image_key, budget)[:-1]
    height, width = pixels.shape[:2]
    points = clean_polygon(ring, width, height, tolerance=prompt.tolerance, max_vertices=max_vertices)
    return None if points is None else Proposal(points=points, score=1.0)
