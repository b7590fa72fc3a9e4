"""Box to polygon: GrabCut inside a dragged box, refined by foreground and background clicks.

GrabCut over a whole 2-megapixel photo takes seconds, and only the box and a band around it matter (what
lies outside is background by definition, and the band is enough to learn the background's colours). So
it runs on the box with a margin of a tenth of its size (and every click), scaled to about WORK_PIXELS
whatever the box's size, lightly blurred (JPEG noise otherwise splits the colour models). One working
size, up or down, because GrabCut is not scale-free: its smoothness term is paid per pair of neighbouring
pixels and its colour term per pixel, so the same object cut at 60 px across loses its thin parts (an arm,
a leg: a few pixels wide, cheaper to cut off than to follow) that it keeps at 300 px across, and a small
box's colour models have few pixels to learn from (a 5x15 box found nothing at its own size). At one
working size the tool gives a small object in a photo the same cut as the same object photographed closer. First initialised with the box (GC_INIT_WITH_RECT), then, when there are clicks, with
the resulting mask marked by them (GC_FGD / GC_BGD discs) and run again (GC_INIT_WITH_MASK). The
foreground's outer contours become the proposals, those holding a foreground click first, then the
largest, each scored by its share of the foreground.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Polygon

from .prompts import BoxPrompt
from .proposals import MAX_VERTICES, Proposal, largest_polygons, polygons_of, ring_points

# About 316x316. On the sample photos the median IoU was 0.73 at 60,000 and 0.79-0.81 from 100,000 to
# 250,000 (docs/assist.md); GrabCut's time grows with the pixels (2.5x from 100,000 to 250,000).
WORK_PIXELS = 100_000
PAD_SHARE = 0.1  # the band around the box, as a share of its longer side
MIN_PAD = 8.0
ITERATIONS = 5
REFINE_ITERATIONS = 3
MAX_PROPOSALS = 3
MIN_SHARE = 0.05  # a part of the foreground smaller than this share of it is not proposed on its own
FLAT = 1.0  # a crop whose pixels vary less than this (standard deviation, 0..255) has nothing to cut


def mask_outlines(mask: np.ndarray, scale: float = 1.0, origin: tuple[int, int] = (0, 0)) -> list[Polygon]:
    """The outer outlines of a mask's regions as polygons in image pixels, largest first. A contour runs
    through pixel centres; grown by half a pixel, the outline covers its pixels whole (a 1-pixel region
    is a 1x1 square, not a point)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outlines = []
    for contour in contours:
        points = contour.reshape(-1, 2).astype(np.float64) + 0.5
        if len(points) == 1:
            shape = shapely.Point(points[0])
        elif len(points) == 2:
            shape = LineString(points)
        else:
            shape = shapely.make_valid(Polygon(points))
        grown = shape.buffer(0.5, cap_style="square", join_style="mitre")
        outlines += [_scaled(part, scale, origin) for part in polygons_of(grown)]
    return sorted(outlines, key=lambda p: p.area, reverse=True)


def _scaled(polygon: Polygon, scale: float, origin: tuple[int, int]) -> Polygon:
    moved = affinity.scale(polygon, 1 / scale, 1 / scale, origin=(0, 0)) if scale != 1 else polygon
    return affinity.translate(moved, origin[0], origin[1])


def box_proposals(pixels: np.ndarray, prompt: BoxPrompt, max_vertices: int = MAX_VERTICES) -> list[Proposal]:
    """Proposals for the object in the box, best first; [] when GrabCut finds no foreground."""
    height, width = pixels.shape[:2]
    x0, y0, x1, y1 = prompt.box
    pad = max(MIN_PAD, PAD_SHARE * max(x1 - x0, y1 - y0))
    xs = [x0, x1, *(p.x for p in prompt.points)]
    ys = [y0, y1, *(p.y for p in prompt.points)]
    cx0, cy0 = max(0, math.floor(min(xs) - pad)), max(0, math.floor(min(ys) - pad))
    cx1, cy1 = min(width, math.ceil(max(xs) + pad)), min(height, math.ceil(max(ys) + pad))
    crop = pixels[cy0:cy1, cx0:cx1]
    area = crop.shape[0] * crop.shape[1]
    scale = math.sqrt(WORK_PIXELS / area)
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    elif scale > 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if float(crop.std()) < FLAT:  # measured at the working size: a huge crop's std needs 8 bytes a value
        return []
    work = cv2.GaussianBlur(crop, (3, 3), 0)
    wh, ww = work.shape[:2]

    def at(x: float, y: float) -> tuple[int, int]:
        return (
            min(max(int((x - cx0) * scale), 0), ww - 1),
            min(max(int((y - cy0) * scale), 0), wh - 1),
        )

    (rx0, ry0), (rx1, ry1) = at(x0, y0), at(x1, y1)
    if (rx0, ry0, rx1, ry1) == (0, 0, ww - 1, wh - 1):
        # GrabCut learns the background from outside the box: a box over the whole image leaves its border.
        rx0, ry0, rx1, ry1 = 1, 1, ww - 2, wh - 2
    if rx1 - rx0 < 1 or ry1 - ry0 < 1:
        return []
    mask = np.zeros((wh, ww), np.uint8)
    cv2.setRNGSeed(0)  # GrabCut's k-means starts at random: the same prompt gets the same proposal
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        rect = (rx0, ry0, rx1 - rx0 + 1, ry1 - ry0 + 1)
        cv2.grabCut(work, mask, rect, background, foreground, ITERATIONS, cv2.GC_INIT_WITH_RECT)
        if prompt.points:
            # 4 % of the crop's longer side (~10 px at the working scale): smaller discs barely moved the
            # colour models on the sample photos, larger ones swung whole regions.
            radius = max(2, round(0.04 * max(ww, wh)))
            for point in prompt.points:
                mark = cv2.GC_FGD if point.label == 1 else cv2.GC_BGD
                cv2.circle(mask, at(point.x, point.y), radius, int(mark), thickness=-1)
            cv2.grabCut(work, mask, None, background, foreground, REFINE_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return []  # too few distinct colours to learn a model from: nothing to separate
    chosen = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    outlines = mask_outlines(chosen, scale, (cx0, cy0))
    wanted = tuple((p.x, p.y) for p in prompt.points if p.label == 1)
    return proposals_of(outlines, width, height, prompt.tolerance, max_vertices, wanted)


def proposals_of(
    outlines: list[Polygon],
    width: int,
    height: int,
    tolerance: float,
    max_vertices: int,
    wanted: tuple[tuple[float, float], ...] = (),
) -> list[Proposal]:
    """Valid, simplified proposals of outlines, scored by their share of the whole: those holding a wanted
    point (a foreground click: the person said "this is the object") first, then the largest. A
    background click inside an object leaves a hole that the outer outline fills, so without this rule
    the clicked-away object could still come first."""
    parts = [
        part
        for outline in outlines
        for part in largest_polygons(list(outline.exterior.coords)[:-1], width, height)[:1]
    ]
    total = sum(part.area for part in parts)
    spots = [shapely.Point(p) for p in wanted]

    def rank(part: Polygon) -> tuple[bool, float]:
        return any(part.covers(spot) for spot in spots), part.area

    found = []
    for part in sorted(parts, key=rank, reverse=True):
        if len(found) == MAX_PROPOSALS:
            break
        if part.area < MIN_SHARE * total:
            continue
        points = ring_points(part, width, height, tolerance=tolerance, max_vertices=max_vertices)
        if points is not None:
            found.append(Proposal(points=points, score=part.area / total))
    return found
