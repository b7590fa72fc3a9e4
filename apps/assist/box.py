"""Box to polygon: GrabCut inside a dragged box, refined by foreground and background clicks.

GrabCut over a whole 2-megapixel photo takes seconds, and only the box and a band around it matter (what
lies outside is background by definition, and the band is enough to learn the background's colours). So
it runs on the box with a margin of a tenth of its size (and every click), scaled to about WORK_PIXELS
whatever the box's size, lightly blurred (JPEG noise otherwise splits the colour models). One working
size, up or down, because GrabCut is not scale-free: its smoothness term is paid per pair of neighbouring
pixels and its colour term per pixel, so the same object cut at 60 px across loses its thin parts (an arm,
a leg: a few pixels wide, cheaper to cut off than to follow) that it keeps at 300 px across, and a small
box's colour models have few pixels to learn from (a 5x15 box found nothing at its own size). At one
working size the tool gives a small object in a photo the same cut as the same object photographed closer.

Two cuts, coarse then fine. GrabCut's first round from a bare box is its dearest by far (its graph cut
starts from colour models that know only "inside" and "outside": at the working size, under load, 0.70 s
against 0.15 to 0.23 s for each later round), and its cost grows faster than the pixels (65 ms at a
quarter of them). So the first cut is at half the working size (a quarter of the pixels:
GC_INIT_WITH_RECT, one round), and its mask, doubled, with its colour models, starts one round at the
working size (GC_EVAL): outside the box sure background, the rest free, so the fine cut can still add the
thin parts the coarse one missed. With clicks the fine round starts from the same mask marked with them
(discs of GC_FGD / GC_BGD) and learns its colour models again from it (GC_INIT_WITH_MASK); so does a fine
round whose coarse cut kept nothing, from the box alone. A quarter of the time, for a median IoU of 0.791
against 0.809 on the sample photos (docs/assist.md). The foreground's outer contours become the proposals, those holding a foreground click
first, then the largest, each scored by its share of the foreground.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Polygon

from .prompts import BoxPrompt
from .proposals import MAX_VERTICES, MIN_AREA, Proposal, polygons_of, ring_points

# About 316x316. On the sample photos the median IoU was 0.73 at 60,000 and 0.79-0.81 from 100,000 to
# 250,000 (docs/assist.md); GrabCut's time grows with the pixels (2.5x from 100,000 to 250,000).
WORK_PIXELS = 100_000
PAD_SHARE = 0.1  # the band around the box, as a share of its longer side
MIN_PAD = 8.0
COARSE_ITERATIONS = 1  # GrabCut's rounds at half the working size, from the box
FINE_ITERATIONS = 1  # and at the working size, from the coarse cut
MAX_PROPOSALS = 3
MIN_SHARE = 0.05  # a part of the foreground smaller than this share of it is not proposed on its own
FLAT = 1.0  # a crop whose pixels vary less than this (standard deviation, 0..255) has nothing to cut


def mask_outlines(mask: np.ndarray, scale: float = 1.0, origin: tuple[int, int] = (0, 0)) -> list[Polygon]:
    """The outer outlines of a mask's regions as polygons in image pixels, largest first, each covering its
    region's pixels whole (a 1-pixel region is a 1x1 square, not a point).

    The contours are traced on the mask doubled, through the centres of its half pixels, and grown by a
    quarter pixel. At the mask's own size a line of single pixels has a contour that runs out and back
    along itself, and no polygon repairs that quickly: make_valid took 40 ms on a 2,000-vertex wand
    outline, and buffering it as it is dropped such lines. Doubled, the two ways run half a pixel apart,
    and the only fault left, two parts meeting at a corner, the buffer grows right in a millisecond or two.
    Against the pixels themselves (a union of squares) this is closer, too: IoU 0.987 on average over 127
    wand regions of the sample photos against 0.935 for the contour at the mask's size, never lower."""
    doubled = cv2.resize(mask.astype(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outlines = []
    for contour in contours:
        # A pixel of the mask is 2x2 doubled: every contour has at least 4 points.
        shape = Polygon((contour.reshape(-1, 2).astype(np.float64) + 0.5) / 2)
        grown = shape.buffer(0.25, cap_style="square", join_style="mitre")
        if grown.area < shape.area:
            # A buffer that lost area was given a ring crossing itself, which a contour should never be.
            grown = shapely.make_valid(shape).buffer(0.25, cap_style="square", join_style="mitre")
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
    coarse = cv2.resize(work, (max(1, ww // 2), max(1, wh // 2)), interpolation=cv2.INTER_AREA)
    rect, coarse_rect = (
        _rect(prompt.box, scale, (cx0, cy0), work),
        _rect(prompt.box, scale / 2, (cx0, cy0), coarse),
    )
    if rect is None or coarse_rect is None:
        return []
    # 4 % of the crop's longer side (~10 px at the working scale): smaller discs barely moved the colour
    # models on the sample photos, larger ones swung whole regions.
    radius = max(2, round(0.04 * max(ww, wh)))
    cv2.setRNGSeed(0)  # GrabCut's k-means starts at random: the same prompt gets the same proposal
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        # The coarse cut, at half the working size, from the box.
        mask = np.zeros(coarse.shape[:2], np.uint8)
        cv2.grabCut(
            coarse, mask, coarse_rect, background, foreground, COARSE_ITERATIONS, cv2.GC_INIT_WITH_RECT
        )
        # The fine cut, at the working size, starts from the coarse one (its mask doubled, its colour
        # models). Outside the box is background, the clicks are what they say, the rest is free. With
        # clicks the colour models are learnt again from that mask: marked at the coarse size instead (and
        # cut there), they moved less (IoU after a click: median 0.78 against 0.83 on the sample photos).
        # A coarse cut that kept nothing is no start: the fine round starts from the box, as from the
        # rectangle (on random boxes over the sample photos that gave back a proposal to 1 in 20).
        kept = _foreground(mask)
        doubled = cv2.resize(kept.astype(np.uint8), (ww, wh), interpolation=cv2.INTER_NEAREST)
        mask = np.where(doubled == 1, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        rx, ry, rw, rh = rect
        inside = np.zeros((wh, ww), bool)
        inside[ry : ry + rh, rx : rx + rw] = True
        if not kept.any():
            mask[inside] = cv2.GC_PR_FGD
        mask[~inside] = cv2.GC_BGD
        _mark(mask, prompt, scale, (cx0, cy0), radius)
        mode = cv2.GC_INIT_WITH_MASK if prompt.points or not kept.any() else cv2.GC_EVAL
        cv2.grabCut(work, mask, None, background, foreground, FINE_ITERATIONS, mode)
    except cv2.error:
        return []  # too few distinct colours to learn a model from: nothing to separate
    outlines = mask_outlines(_foreground(mask), scale, (cx0, cy0))
    wanted = tuple((p.x, p.y) for p in prompt.points if p.label == 1)
    return proposals_of(outlines, width, height, prompt.tolerance, max_vertices, wanted)


def _at(x: float, y: float, scale: float, origin: tuple[int, int], image: np.ndarray) -> tuple[int, int]:
    """Image pixel (x, y) on a working image that starts at `origin` and is `scale` times the image."""
    height, width = image.shape[:2]
    return (
        min(max(int((x - origin[0]) * scale), 0), width - 1),
        min(max(int((y - origin[1]) * scale), 0), height - 1),
    )


def _rect(
    box: tuple[float, float, float, float], scale: float, origin: tuple[int, int], image: np.ndarray
) -> tuple[int, int, int, int] | None:
    """The box on a working image as GrabCut's (x, y, width, height); None when it has no inside there."""
    height, width = image.shape[:2]
    (rx0, ry0), (rx1, ry1) = (
        _at(box[0], box[1], scale, origin, image),
        _at(box[2], box[3], scale, origin, image),
    )
    if (rx0, ry0, rx1, ry1) == (0, 0, width - 1, height - 1):
        # GrabCut learns the background from outside the box: a box over the whole image leaves its border.
        rx0, ry0, rx1, ry1 = 1, 1, width - 2, height - 2
    if rx1 - rx0 < 1 or ry1 - ry0 < 1:
        return None
    return (rx0, ry0, rx1 - rx0 + 1, ry1 - ry0 + 1)


def _mark(mask: np.ndarray, prompt: BoxPrompt, scale: float, origin: tuple[int, int], radius: int) -> None:
    """The clicks as discs of sure foreground (label 1) or background (label 0) on a working mask."""
    for point in prompt.points:
        mark = cv2.GC_FGD if point.label == 1 else cv2.GC_BGD
        cv2.circle(mask, _at(point.x, point.y, scale, origin, mask), radius, int(mark), thickness=-1)


def _foreground(mask: np.ndarray) -> np.ndarray:
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


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
    parts = [part for part in (_on_image(outline, width, height) for outline in outlines) if part is not None]
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


def _on_image(outline: Polygon, width: int, height: int) -> Polygon | None:
    """A valid outline's largest part on the image, without holes (a shape has none); None below MIN_AREA.
    A mask's outline reaches its pixels' outer edges, so the image's border at most (scaled back from a
    working image, a hair past it: then it is cut there)."""
    minx, miny, maxx, maxy = outline.bounds
    inside = minx >= 0 and miny >= 0 and maxx <= width and maxy <= height
    parts = [outline] if inside else polygons_of(outline.intersection(shapely.box(0, 0, width, height)))
    whole = [Polygon(part.exterior) for part in parts if part.area >= MIN_AREA]
    return max(whole, key=lambda part: part.area, default=None)
