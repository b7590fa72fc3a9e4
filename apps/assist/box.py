"""Box to polygon: GrabCut's energy, cut over the image's small regions; refined by foreground and
background clicks.

GrabCut (Rother et al. 2004) labels the pixels of the box and a band around it object or background by
minimising colour terms (a Gaussian mixture of 5 components for each side, learnt from the labelling) plus
a smoothness term (neighbouring pixels of unlike colour are cheap to cut apart), alternating learning and a
graph cut. OpenCV's grabCut does it over pixels: at the ~100,000 working pixels the sample photos need, a
box took 140 ms on an idle core (4 to 6 times the image's decoding), and every box starts again. Here the
same energy is cut over regions (apps/assist/regions.py: the pixels of a small square cell that fall to one
colour of the image's palette), as Lazy Snapping (Li et al. 2004) cuts over pre-segmented regions for
interactivity. The regions, the sums of their colours and colour products and the summed smoothness
weights between them are computed once per image and cached with it; a box then adds up a few thousand
regions instead of a hundred thousand pixels. The colour terms of a labelling that keeps regions whole
are exact (a region's mean colour and mean colour products give its pixels' summed log-density), and so
is the smoothness; what is lost is only a border through a region, and regions follow colour edges to the
pixel inside their cell.

Scale: the energy is counted at one working size, as GrabCut was run on the crop scaled to WORK_PIXELS: a
region's colour term is its pixels times scale^2, a smoothness sum times scale (the pairs along a border
grow with its length). So the same object gets the same cut whatever its size in the photo. A box takes
the finest level of regions at which its crop has at most CELL_BUDGET cells; a small crop, on which the
image's cells would be large at the working size, gets regions of its own (cells of CROP_CELL px, made
for it: a small crop is quick to prepare, and the image's regions are then not needed at all).

Coarse, then fine: GrabCut's rounds (learn both mixtures, their components from a weighted k-means the
first time and then each region to its likeliest component; a max-flow cut with PyMaxflow; until the
labelling stops changing, at most ROUNDS) run first at the finest level with at most COARSE_CELL_BUDGET
cells (a quarter of the regions, or the fine level itself when it has no more), then FINE_ROUNDS at the fine level from that labelling
and those mixtures. Outside the box is sure background, clicks are discs (4 % of the crop's longer side)
of sure foreground or background. The foreground's outer contours become the proposals, those holding a
foreground click first, then the largest, each scored by its share of the foreground; a part apart from
the largest that holds a foreground click is joined to it (proposals_of).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

import cv2
import maxflow
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Polygon

from . import regions as regions_module
from .images import ByteLRU
from .prompts import BoxPrompt, LabeledPoint
from .proposals import MAX_VERTICES, MIN_AREA, Proposal, polygons_of, ring_points
from .regions import Level, Regions

# The working size the energy is counted at: GrabCut's plateau on the sample photos was 100,000 to
# 250,000 pixels (median IoU 0.79-0.81), and 0.73 at 60,000 (docs/assist.md).
WORK_PIXELS = 100_000
PAD_SHARE = 0.1  # the band around the box, as a share of its longer side
MIN_PAD = 8.0
CELL_BUDGET = 4_000  # cells of the crop at the finest level cut: a few thousand regions per box
COARSE_CELL_BUDGET = 2_000  # and the first round at the finest level with at most this many (1,000: below)
FINE_ROUNDS = 1  # then this many at the finest level, from the coarse labelling
SMALL_CROP_CELLS = 8.0  # working px: a crop on which the image's base cell is larger gets its own regions
CROP_CELL = 2  # px: a small crop's own regions' cell
COMPONENTS = 5  # per mixture, as GrabCut
# The smoothness weight: GrabCut's is 50 over pixels. Over regions, 35 (with 2,000 coarse cells rather
# than 1,000) did better on the sample photos: median IoU 0.784 against 0.772, on boxes jittered by up to
# 6 % 0.725 against 0.695 (mean 0.683 against 0.669); 30 and 40 were near 35. Tuned on those 3 photos.
GAMMA = 35.0
# At the coarse level. 1, as the pixel GrabCut before it ran (a round at half the working size, then one at
# it): on the sample photos median IoU 0.772 against 0.761 with 3 rounds (after a click 0.813 against
# 0.796), and on boxes jittered by up to 6 % 0.695 against 0.676; more rounds drift from the box.
ROUNDS = 1
KMEANS_ROUNDS = 5
MAX_PROPOSALS = 3
MIN_SHARE = 0.05  # a part of the foreground smaller than this share of it is not proposed on its own
FLAT = 1.0  # a crop whose pixels vary less than this (standard deviation, 0..255) has nothing to cut
SURE = 1e12  # the capacity of a sure label's link
UPPER = ([0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2])  # a symmetric 3x3 matrix's upper triangle


def cached_regions(pixels: np.ndarray, cache: ByteLRU, image_key: Hashable) -> Regions:
    """The image's regions from the assist cache, prepared (and kept) on the first box."""

    def make() -> tuple[Regions, int]:
        found = regions_module.prepare(pixels)
        return found, found.nbytes

    return cache.cached(("regions", image_key), make)


def mask_outlines(
    mask: np.ndarray,
    scale: float = 1.0,
    origin: tuple[int, int] = (0, 0),
    chain: int = cv2.CHAIN_APPROX_SIMPLE,
) -> list[Polygon]:
    """The outer outlines of a mask's regions as polygons in image pixels, largest first, each covering its
    region's pixels whole (a 1-pixel region is a 1x1 square, not a point). With `chain` another of
    OpenCV's contour approximations than the staircase's corners (CHAIN_APPROX_SIMPLE), the outline only
    comes near them (within a pixel), for an outline to be simplified anyway.

    The contours are traced on the mask doubled, through the centres of its half pixels, and grown by a
    quarter pixel. At the mask's own size a line of single pixels has a contour that runs out and back
    along itself, and no polygon repairs that quickly: make_valid took 40 ms on a 2,000-vertex wand
    outline, and buffering it as it is dropped such lines. Doubled, the two ways run half a pixel apart,
    and the only fault left, two parts meeting at a corner, the buffer grows right in a millisecond or two.
    Against the pixels themselves (a union of squares) this is closer, too: IoU 0.987 on average over 127
    wand regions of the sample photos against 0.935 for the contour at the mask's size, never lower."""
    doubled = cv2.resize(mask.astype(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, chain)
    if chain != cv2.CHAIN_APPROX_SIMPLE and any(len(contour) < 4 for contour in contours):
        # An approximation may leave a small region fewer points than a polygon needs: its staircase.
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


def crop_of(prompt: BoxPrompt, width: int, height: int) -> tuple[int, int, int, int]:
    """The box with its margin and every click, on the image: (x0, y0, x1, y1), pixels."""
    x0, y0, x1, y1 = prompt.box
    pad = max(MIN_PAD, PAD_SHARE * max(x1 - x0, y1 - y0))
    xs = [x0, x1, *(p.x for p in prompt.points)]
    ys = [y0, y1, *(p.y for p in prompt.points)]
    cx0, cy0 = max(0, math.floor(min(xs) - pad)), max(0, math.floor(min(ys) - pad))
    cx1, cy1 = min(width, math.ceil(max(xs) + pad)), min(height, math.ceil(max(ys) + pad))
    return cx0, cy0, cx1, cy1


def uses_image_regions(prompt: BoxPrompt, width: int, height: int) -> bool:
    """Whether this box is cut over the image's regions; a small crop, on which the image's cells would
    be more than SMALL_CROP_CELLS working pixels across, gets regions of its own (the API prepares the
    image's only when a box needs them)."""
    cx0, cy0, cx1, cy1 = crop_of(prompt, width, height)
    scale = math.sqrt(WORK_PIXELS / ((cx1 - cx0) * (cy1 - cy0)))
    return regions_module.base_cell(width, height) * scale <= SMALL_CROP_CELLS


def box_proposals(
    pixels: np.ndarray,
    prompt: BoxPrompt,
    max_vertices: int = MAX_VERTICES,
    regions: Regions | None = None,
) -> list[Proposal]:
    """Proposals for the object in the box, best first; [] when the cut keeps no foreground. `regions` are
    the image's (cached_regions), used when the box is large enough for them (uses_image_regions);
    otherwise, or without them, the crop gets regions of its own."""
    height, width = pixels.shape[:2]
    x0, y0, x1, y1 = prompt.box
    cx0, cy0, cx1, cy1 = crop_of(prompt, width, height)
    scale = math.sqrt(WORK_PIXELS / ((cx1 - cx0) * (cy1 - cy0)))
    if regions is None or not uses_image_regions(prompt, width, height):
        regions = regions_module.prepare(pixels[cy0:cy1, cx0:cx1], cell=CROP_CELL)
        region_map, offset = regions.region_map, (cx0, cy0)
    else:
        region_map, offset = regions.region_map[cy0:cy1, cx0:cx1], (0, 0)
    fine = _finest(regions, cx1 - cx0, cy1 - cy0, CELL_BUDGET)
    coarse = max(fine, _finest(regions, cx1 - cx0, cy1 - cy0, COARSE_CELL_BUDGET))
    fine_problem = _problem(regions.levels[fine], region_map, (cx0, cy0), offset, prompt, scale)
    if fine_problem is None:
        return []
    coarse_problem = (
        _problem(regions.levels[coarse], region_map, (cx0, cy0), offset, prompt, scale)
        if coarse != fine
        else None
    )
    foreground = _cut(coarse_problem, fine_problem, _up(regions, fine, coarse))
    if foreground is None:
        return []
    level = regions.levels[fine]
    labels = np.zeros(level.size, bool)
    labels[fine_problem.chosen[foreground]] = True
    mask, mask_scale = _mask(labels, level.parent[region_map], scale)
    bx0, by0 = (max(0, math.floor((v - o) * mask_scale)) for v, o in ((x0, cx0), (y0, cy0)))
    bx1, by1 = (math.ceil((v - o) * mask_scale) for v, o in ((x1, cx0), (y1, cy0)))
    inside = np.zeros_like(mask)
    inside[by0:by1, bx0:bx1] = True  # outside the box is background
    outlines = mask_outlines(mask & inside, mask_scale, (cx0, cy0))
    wanted = tuple((p.x, p.y) for p in prompt.points if p.label == 1)
    unwanted = tuple((p.x, p.y) for p in prompt.points if p.label == 0)
    return proposals_of(outlines, width, height, prompt.tolerance, max_vertices, wanted, unwanted)


def _finest(regions: Regions, width: int, height: int, budget: int) -> int:
    """The finest level at which a crop of this size has at most `budget` cells."""
    for index, level in enumerate(regions.levels):
        if (width / level.cell + 1) * (height / level.cell + 1) <= budget:
            return index
    return len(regions.levels) - 1


def _cells_of(level: Level, shape: tuple[int, ...], corner: tuple[int, int]) -> np.ndarray:
    """The level's cells that a crop (shape, top-left corner in the level's image) overlaps."""
    left, top = corner[0] // level.cell, corner[1] // level.cell
    right, bottom = (corner[0] + shape[1] - 1) // level.cell, (corner[1] + shape[0] - 1) // level.cell
    rows, columns = np.mgrid[top : bottom + 1, left : right + 1]
    return (rows * level.columns + columns).ravel()


@dataclass
class _Problem:
    """The regions of one level that a crop overlaps, with what the cut needs of them."""

    chosen: np.ndarray  # the regions' indices in their level
    count: np.ndarray
    moments: np.ndarray  # per pixel: mean colour, mean colour products
    features: np.ndarray  # products, colour, 1: @ a mixture's density rows gives the log-density
    weight: np.ndarray  # pixels at the working size
    sure_fg: np.ndarray
    sure_bg: np.ndarray
    start_fg: np.ndarray  # inside the box (or off the crop's ring, for a box over the whole crop)
    rows: np.ndarray
    columns: np.ndarray
    smooth: np.ndarray


def _problem(
    level: Level,
    region_map: np.ndarray,
    corner: tuple[int, int],
    offset: tuple[int, int],
    prompt: BoxPrompt,
    scale: float,
) -> _Problem | None:
    """The crop's regions at one level; None when the crop is flat (nothing to cut)."""
    cells = _cells_of(level, region_map.shape, (corner[0] - offset[0], corner[1] - offset[1]))
    chosen = np.flatnonzero(np.isin(level.cell_of, cells))
    count = level.count[chosen]
    moments = level.moments[chosen] / count[:, None]
    overall = np.average(moments, 0, count)
    variance = (overall[[3, 6, 8]].sum() - (overall[:3] ** 2).sum()) / 3
    if math.sqrt(max(variance, 0.0)) < FLAT:
        return None
    centre = _centres(level, chosen, offset)
    x0, y0, x1, y1 = prompt.box
    inside = (centre[:, 0] >= x0) & (centre[:, 0] <= x1) & (centre[:, 1] >= y0) & (centre[:, 1] <= y1)
    sure_fg, sure_bg, start_fg = np.zeros(len(chosen), bool), ~inside, inside
    if inside.all():
        # A box over the whole crop (the whole image): its outer ring of regions starts as background.
        sure_bg, start_fg = np.zeros(len(chosen), bool), ~_ring(centre, region_map.shape, corner, level)
    radius = 0.04 * max(region_map.shape)
    for point in prompt.points:
        near = ((centre - (point.x, point.y)) ** 2).sum(1) <= radius**2
        near |= chosen == _holding(level, region_map, corner, point)
        if point.label == 1:
            sure_fg, sure_bg = sure_fg | near, sure_bg & ~near
        else:
            sure_fg, sure_bg = sure_fg & ~near, sure_bg | near
    pairs = level.pairs[chosen][:, chosen].tocoo()
    features = np.concatenate([moments[:, 3:], moments[:, :3], np.ones((len(chosen), 1))], 1)
    return _Problem(
        chosen,
        count,
        moments,
        features,
        count * scale * scale,
        sure_fg,
        sure_bg,
        (start_fg & ~sure_bg) | sure_fg,
        pairs.row,
        pairs.col,
        pairs.data * GAMMA * scale,
    )


def _cut(coarse: _Problem | None, fine: _Problem, up: np.ndarray) -> np.ndarray | None:
    """Which of the fine problem's regions are foreground; None when none is. ROUNDS rounds on the coarse
    problem's regions (when there is one), then FINE_ROUNDS on the fine ones from that labelling and those
    mixtures (ROUNDS from the box without a coarse problem, or when the coarse cut kept nothing)."""
    foreground, mixtures, rounds = fine.start_fg, None, ROUNDS
    if coarse is not None:
        found, learnt = _rounds(coarse, coarse.start_fg, None, ROUNDS)
        if found is not None and found.any():
            foreground = (np.isin(up[fine.chosen], coarse.chosen[found]) & ~fine.sure_bg) | fine.sure_fg
            mixtures, rounds = learnt, FINE_ROUNDS
    found, _ = _rounds(fine, foreground, mixtures, rounds)
    return found if found is not None and found.any() else None


def _up(regions: Regions, fine: int, coarse: int) -> np.ndarray:
    """The coarse level's region of each fine level's region."""
    some_base = np.empty(regions.levels[fine].size, np.int32)
    some_base[regions.levels[fine].parent] = np.arange(len(regions.levels[fine].parent), dtype=np.int32)
    return regions.levels[coarse].parent[some_base]


def _rounds(
    problem: _Problem, foreground: np.ndarray, mixtures: list[np.ndarray] | None, rounds: int
) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
    """GrabCut's rounds: learn the two mixtures from the labelling (components from a weighted k-means the
    first time, then each region to its likeliest component of the last mixtures), cut; until the
    labelling stops changing. The foreground found (None when a side is empty) and the last mixtures."""
    for _ in range(rounds):
        if foreground.all() or not foreground.any():
            return None, mixtures
        learnt = []
        for index, side in enumerate((foreground, ~foreground)):
            if mixtures is None:
                assigned = _kmeans(problem.moments[side, :3], problem.count[side])
            else:
                assigned = _component(problem.features[side], mixtures[index])
            learnt.append(_mixture(problem.moments[side], problem.count[side], assigned))
        mixtures = learnt
        cost_fg, cost_bg = (
            -problem.weight * _log_sum_exp(_likelihoods(problem.features, m)) for m in mixtures
        )
        size = len(problem.chosen)
        graph = maxflow.Graph[float](size, len(problem.smooth))
        nodes = graph.add_nodes(size)
        graph.add_edges(nodes[problem.rows], nodes[problem.columns], problem.smooth, problem.smooth)
        graph.add_grid_tedges(
            nodes,
            np.where(problem.sure_bg, 0.0, np.where(problem.sure_fg, SURE, cost_bg)),
            np.where(problem.sure_bg, SURE, np.where(problem.sure_fg, 0.0, cost_fg)),
        )
        graph.maxflow()
        found = ~graph.get_grid_segments(nodes)
        if (found == foreground).all():
            break
        foreground = found
    return foreground, mixtures


def _centres(level: Level, chosen: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """The centre of each chosen region's cell, in image pixels (a pixel's centre for pixel regions)."""
    row, column = np.divmod(level.cell_of[chosen], level.columns)
    return np.stack([column * level.cell + offset[0], row * level.cell + offset[1]], 1) + level.cell / 2


def _ring(centre: np.ndarray, shape: tuple[int, ...], corner: tuple[int, int], level: Level) -> np.ndarray:
    """The regions whose cell centre lies within a cell of the crop's edge."""
    x, y = centre[:, 0] - corner[0], centre[:, 1] - corner[1]
    near = level.cell
    return (x < near) | (y < near) | (x > shape[1] - near) | (y > shape[0] - near)


def _holding(level: Level, region_map: np.ndarray, corner: tuple[int, int], point: LabeledPoint) -> int:
    """The level's region holding a clicked point's pixel (region_map: the crop's, from `corner`)."""
    height, width = region_map.shape
    row = min(max(int(point.y) - corner[1], 0), height - 1)
    column = min(max(int(point.x) - corner[0], 0), width - 1)
    return int(level.parent[region_map[row, column]])


def _kmeans(mean: np.ndarray, count: np.ndarray, rounds: int = KMEANS_ROUNDS) -> np.ndarray:
    """Each region's component: a k-means of region colours weighted by their pixels (GrabCut's k-means is
    over pixels), seeded with k-means++ from a fixed seed (the same prompt gets the same proposal)."""
    k = min(COMPONENTS, len(mean))
    random = np.random.default_rng(0)
    centre = np.empty((k, 3))
    centre[0] = mean[np.argmax(count)]
    nearest = ((mean - centre[0]) ** 2).sum(1)
    for i in range(1, k):
        chance = nearest * count
        total = chance.sum()
        centre[i] = mean[random.choice(len(mean), p=chance / total)] if total > 0 else mean[0]
        nearest = np.minimum(nearest, ((mean - centre[i]) ** 2).sum(1))
    for _ in range(rounds):
        assigned = _nearest(mean, centre)
        weights = np.bincount(assigned, count, k)
        sums = np.einsum("n,nc,nk->kc", count, mean, np.eye(k)[assigned])
        centre = np.where(weights[:, None] > 0, sums / np.maximum(weights, 1e-9)[:, None], centre)
    return _nearest(mean, centre)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    # |p - c|^2 without the |p|^2 every centre shares
    return np.argmin((centres**2).sum(1) - 2 * np.einsum("nc,kc->nk", points, centres), 1)


def _mixture(moments: np.ndarray, count: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    """A Gaussian mixture learnt from regions (their pixels' mean colour and mean colour products), as a
    matrix M, one column per component, such that features @ M[:-1] is each region's mean log-density per
    pixel under each component (features: the mean products, the mean colour, 1) and M[-1] the
    components' log weights."""
    k = int(assigned.max()) + 1
    share = np.eye(k)[assigned] * count[:, None]  # n x k: a region's pixels in each component
    weights = share.sum(0)
    used = weights > 0
    share, weights = share[:, used], weights[used]
    pooled = np.einsum("nk,nm->km", share, moments) / weights[:, None]
    mu = pooled[:, :3]
    second = np.empty((len(weights), 3, 3))
    second[:, UPPER[0], UPPER[1]] = pooled[:, 3:]
    second[:, UPPER[1], UPPER[0]] = pooled[:, 3:]
    covariance = second - mu[:, :, None] * mu[:, None, :] + 0.01 * np.eye(3)
    precision = np.linalg.inv(covariance)
    _, log_det = np.linalg.slogdet(covariance)
    doubled = np.where(np.array(UPPER[0]) == np.array(UPPER[1]), 1.0, 2.0)
    products = precision[:, UPPER[0], UPPER[1]] * doubled
    constant = -0.5 * log_det - 0.5 * np.einsum("kc,kcd,kd->k", mu, precision, mu)
    return np.concatenate(
        [
            -0.5 * products,
            np.einsum("kcd,kd->kc", precision, mu),
            constant[:, None],
            np.log(weights / weights.sum())[:, None],
        ],
        1,
    ).T


def _likelihoods(features: np.ndarray, mixture: np.ndarray) -> np.ndarray:
    # einsum, not @: a product this small costs less than waking BLAS's threads
    return np.einsum("nf,fk->nk", features, mixture[:-1]) + mixture[-1]


def _component(features: np.ndarray, mixture: np.ndarray) -> np.ndarray:
    """Each region's likeliest component by its density alone, its weight left out (as OpenCV's GrabCut
    assigns pixels)."""
    return np.einsum("nf,fk->nk", features, mixture[:-1]).argmax(1)


def _log_sum_exp(values: np.ndarray) -> np.ndarray:
    top = values.max(1)
    return top + np.log(np.exp(values - top[:, None]).sum(1))


def _mask(foreground: np.ndarray, crop_map: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """The crop's foreground pixels, at the working size when that is smaller (the outline needs no more)."""
    if scale < 1:
        height, width = crop_map.shape
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        crop_map = cv2.resize(crop_map, size, interpolation=cv2.INTER_NEAREST)
        return foreground[crop_map], size[0] / width
    return foreground[crop_map], 1.0


def proposals_of(
    outlines: list[Polygon],
    width: int,
    height: int,
    tolerance: float,
    max_vertices: int,
    wanted: tuple[tuple[float, float], ...] = (),
    unwanted: tuple[tuple[float, float], ...] = (),
) -> list[Proposal]:
    """Valid, simplified proposals of outlines, scored by their share of the whole: those holding a wanted
    point (a foreground click: the person said "this is the object") first, then the largest. A
    background click inside an object leaves a hole that the outer outline fills, so without this rule
    the clicked-away object could still come first.

    A foreground click on a part apart from the largest (the proposal shown first, which the person is
    correcting) says that part belongs to the object too: it joins the largest (join), unless the largest
    holds a background click (the person said that one is not the object)."""
    parts = [part for part in (_on_image(outline, width, height) for outline in outlines) if part is not None]
    spots = [shapely.Point(p) for p in wanted]
    away = [shapely.Point(p) for p in unwanted]
    if spots and len(parts) > 1:
        largest = max(parts, key=lambda part: part.area)
        clicked = [p for p in parts if p is not largest and any(p.covers(spot) for spot in spots)]
        if clicked and not any(largest.covers(spot) for spot in away):
            joined = join(largest, clicked)
            parts = [joined, *(p for p in parts if p is not largest and not any(p is c for c in clicked))]
    total = sum(part.area for part in parts)

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


def join(main: Polygon, others: list[Polygon]) -> Polygon:
    """`main` with each of `others` joined to it by the convex hull of that part and the stretch of `main`
    facing it (main's area within the gap and a pixel of it): one polygon, without holes."""
    pieces = [main]
    for other in others:
        facing = main.intersection(other.buffer(main.distance(other) + 1.0, quad_segs=4))
        pieces.append(shapely.convex_hull(shapely.union(facing, other)))
    merged = shapely.union_all(pieces)
    largest = max(polygons_of(merged), key=lambda part: part.area)
    return Polygon(largest.exterior)


def _on_image(outline: Polygon, width: int, height: int) -> Polygon | None:
    """A valid outline's largest part on the image, without holes (a shape has none); None below MIN_AREA.
    A mask's outline reaches its pixels' outer edges, so the image's border at most (scaled back from a
    working image, a hair past it: then it is cut there)."""
    minx, miny, maxx, maxy = outline.bounds
    inside = minx >= 0 and miny >= 0 and maxx <= width and maxy <= height
    parts = [outline] if inside else polygons_of(outline.intersection(shapely.box(0, 0, width, height)))
    whole = [Polygon(part.exterior) for part in parts if part.area >= MIN_AREA]
    return max(whole, key=lambda part: part.area, default=None)
