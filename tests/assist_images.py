"""Synthetic pictures for the assist tests: a disc or a rectangle drawn on a plain ground, with a little
noise so that GrabCut and the edge maps meet something like a photo, and the exact shape drawn."""

from __future__ import annotations

import io

import numpy as np
import shapely
from PIL import Image as PILImage
from shapely.geometry import Polygon

GROUND = (40, 60, 50)  # BGR
INK = (60, 180, 220)


def disc_pixels(
    width: int = 200, height: int = 150, centre: tuple[int, int] = (100, 75), radius: int = 45, seed: int = 1
) -> tuple[np.ndarray, Polygon]:
    """A BGR picture of a filled disc, and the disc as a polygon in image coordinates (pixel (i, j) covers
    [j, j+1] x [i, i+1], so its centre is at (cx + 0.5, cy + 0.5))."""
    ys, xs = np.mgrid[0:height, 0:width]
    inside = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius**2
    return _painted(inside, seed), shapely.Point(centre[0] + 0.5, centre[1] + 0.5).buffer(radius + 0.5, 128)


def rectangle_pixels(
    width: int = 200, height: int = 150, rect: tuple[int, int, int, int] = (50, 40, 150, 110), seed: int = 2
) -> tuple[np.ndarray, Polygon]:
    """A BGR picture of a filled rectangle [x0, x1) x [y0, y1), and that rectangle as a polygon."""
    x0, y0, x1, y1 = rect
    inside = np.zeros((height, width), bool)
    inside[y0:y1, x0:x1] = True
    return _painted(inside, seed), shapely.box(x0, y0, x1, y1)


def _painted(inside: np.ndarray, seed: int) -> np.ndarray:
    picture = np.empty((*inside.shape, 3), np.int16)
    picture[:] = GROUND
    picture[inside] = INK
    noise = np.random.default_rng(seed).integers(-8, 9, picture.shape)
    return np.clip(picture + noise, 0, 255).astype(np.uint8)


def png_of(pixels: np.ndarray) -> bytes:
    """A BGR array as PNG bytes."""
    out = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(pixels[:, :, ::-1])).save(out, format="PNG")
    return out.getvalue()


def iou(points: list[list[float]], shape: Polygon) -> float:
    drawn = shapely.polygons(points)
    return drawn.intersection(shape).area / drawn.union(shape).area
