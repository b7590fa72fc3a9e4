"""An image's small regions and their neighbours: the box tool's per-image preparation (apps/assist/box.py).

Box to polygon cuts GrabCut's energy over regions of similar colour instead of pixels (as Lazy Snapping,
Li et al. 2004, cuts over pre-segmented regions): the energy's terms are sums over pixels, so the sums are
taken once per image and each box adds up a few thousand regions instead of a hundred thousand pixels.

A region is the pixels of one square cell that fall to one colour of the image's palette (a k-means of
PALETTE colours over the lightly blurred image, applied through a lookup table): fast to compute (a lookup
and a count, no iterations over the pixels), never larger than its cell, and it follows colour edges to
the pixel inside the cell. A region need not be connected; the cut does not care. Superpixels (SLIC, SEEDS,
a watershed) cost 220 ms to 1 s on a 2 MP photo before any sums (docs/assist.md). Per region the
preparation keeps its pixel count and the sums of its colours and of their products; between touching
regions, the sum over their touching pixel pairs (8 neighbours) of GrabCut's smoothness weight
exp(-beta |z_m - z_n|^2) / distance, beta from the image's mean squared neighbour difference. With those,
GrabCut's energy of any labelling that keeps each region whole is exact: a region's colour term from its
mean colour and mean colour products, the smoothness from the pair sums.

Levels: the base cell is BASE_CELL pixels, larger on a large image (at most about BASE_CELLS cells), and
each next level doubles the cell, down to COARSEST cells across; a level's regions are the base regions of
one palette colour in its larger cell, their sums added up. A box picks its levels by how many cells its
crop has there, so a box costs about the same whatever its size (box.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse

PALETTE = 8  # colours: 12, 16 and 24 did no better on the sample photos and make more regions
BASE_CELL = 4  # px
BASE_CELLS = 30_000  # a larger image gets a larger base cell
COARSEST = 8  # cells across the longer side: levels double the cell until this few are left
LUT_BITS = 5  # the palette's lookup table: 32x32x32 colour bins
# (dy, dx, distance) of the 4 forward neighbours; with their reverses, the 8 neighbours
NEIGHBOURS = ((0, 1, 1.0), (1, 0, 1.0), (1, 1, math.sqrt(2)), (1, -1, math.sqrt(2)))


@dataclass(frozen=True)
class Level:
    """The regions at one cell size. `parent` maps a base region to its region here (the base: identity)."""

    cell: int
    columns: int  # cells in a row
    parent: np.ndarray  # int32, one per base region
    cell_of: np.ndarray  # int32, one per region
    colour: np.ndarray  # int32, one per region: its palette colour
    count: np.ndarray  # pixels, float64
    moments: np.ndarray  # n x 9: sums of b, g, r and of bb, bg, br, gg, gr, rr
    pairs: sparse.csr_matrix  # upper triangle: summed smoothness weights between touching regions

    @property
    def size(self) -> int:
        return len(self.count)

    @property
    def nbytes(self) -> int:
        arrays = (self.parent, self.cell_of, self.colour, self.count, self.moments)
        pairs = self.pairs.data.nbytes + self.pairs.indices.nbytes + self.pairs.indptr.nbytes
        return sum(a.nbytes for a in arrays) + pairs


@dataclass(frozen=True)
class Regions:
    """An image's base region of every pixel and its levels, finest first."""

    region_map: np.ndarray  # int32, height x width
    levels: tuple[Level, ...]
    beta: float

    @property
    def nbytes(self) -> int:
        return self.region_map.nbytes + sum(level.nbytes for level in self.levels)


def base_cell(width: int, height: int) -> int:
    return max(BASE_CELL, math.ceil(math.sqrt(width * height / BASE_CELLS)))


def prepare(pixels: np.ndarray, cell: int | None = None) -> Regions:
    """The regions of an image (BGR), with cells of `cell` px (base_cell when not given: box.py gives a
    small crop finer cells of its own)."""
    height, width = pixels.shape[:2]
    cell = base_cell(width, height) if cell is None else cell
    blurred = cv2.GaussianBlur(pixels, (3, 3), 0)
    columns, rows = -(-width // cell), -(-height // cell)
    colour = _palette_index(blurred)
    cell_index = (np.arange(height, dtype=np.int32) // cell)[:, None] * columns + (
        np.arange(width, dtype=np.int32) // cell
    )[None, :]
    raw = (cell_index * PALETTE + colour).ravel()
    present = np.bincount(raw, minlength=rows * columns * PALETTE) > 0
    compact = np.cumsum(present, dtype=np.int32) - 1
    region_map = compact[raw].reshape(height, width)
    size = int(compact[-1]) + 1
    cell_of, colour_of = (a.astype(np.int32) for a in np.divmod(np.flatnonzero(present), PALETTE))
    flat = region_map.ravel()
    planes = cv2.split(blurred.astype(np.float32))
    # Multiplied as 2-D planes: OpenCV takes a flat array of up to 4 values for a scalar (a 1x1 image).
    products = [cv2.multiply(planes[a], planes[b]).ravel() for a in range(3) for b in range(a, 3)]
    channels = [plane.ravel() for plane in planes]
    moments = np.stack([np.bincount(flat, values, size) for values in (*channels, *products)], 1)
    count = np.bincount(flat, minlength=size).astype(np.float64)
    beta, pairs = _pairs(blurred, region_map, size)
    base = Level(cell, columns, np.arange(size, dtype=np.int32), cell_of, colour_of, count, moments, pairs)
    found = [base]
    while max(found[-1].columns, -(-height // found[-1].cell)) > COARSEST:
        found.append(_coarser(found[-1]))
    return Regions(region_map, tuple(found), beta)


def _palette_index(blurred: np.ndarray) -> np.ndarray:
    """Each pixel's nearest palette colour, through a lookup table over colour bins."""
    flat = blurred.reshape(-1, 3)
    sample = flat[:: max(1, len(flat) // 20_000)].astype(np.float32)
    k = min(PALETTE, len(np.unique(sample, axis=0)))
    cv2.setRNGSeed(0)  # the same image gets the same palette
    criteria = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, 10, 1.0)
    _, _, centres = cv2.kmeans(sample, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    shift = 8 - LUT_BITS
    bins = np.arange(1 << LUT_BITS, dtype=np.float32) * (1 << shift) + (1 << shift) / 2
    grid = np.stack(np.meshgrid(bins, bins, bins, indexing="ij"), -1).reshape(-1, 3)
    table = np.argmin(((grid[:, None, :] - centres[None]) ** 2).sum(-1), 1).astype(np.int32)
    q = (blurred >> shift).astype(np.int32)
    return table[(q[:, :, 0] << (2 * LUT_BITS)) | (q[:, :, 1] << LUT_BITS) | q[:, :, 2]]


def _pairs(blurred: np.ndarray, region_map: np.ndarray, size: int) -> tuple[float, sparse.csr_matrix]:
    """beta, and the summed smoothness weights between touching regions (upper triangle)."""
    height, width = region_map.shape
    found = []
    for dy, dx, distance in NEIGHBOURS:
        if dy >= height or abs(dx) >= width:  # an image (or crop) one pixel high or wide: no such pairs
            continue
        ya, yb = slice(0, height - dy), slice(dy, height)
        xa, xb = (
            (slice(0, width - dx), slice(dx, width)) if dx >= 0 else (slice(-dx, width), slice(0, width + dx))
        )
        difference = cv2.absdiff(blurred[ya, xa], blurred[yb, xb])
        squared = cv2.transform(cv2.multiply(difference, difference, dtype=cv2.CV_32F), np.ones((1, 3)))
        found.append((region_map[ya, xa].ravel(), region_map[yb, xb].ravel(), squared.ravel(), distance))
    pixel_pairs = sum(f[2].size for f in found)
    mean = sum(float(squared.sum()) for _, _, squared, _ in found) / pixel_pairs if pixel_pairs else 0.0
    beta = 1.0 / (2.0 * mean) if mean > 0 else 0.0
    rows, cols, values = [], [], []
    for a, b, squared, distance in found:
        crossing = np.flatnonzero(a != b)
        a, b = a[crossing], b[crossing]
        rows.append(np.minimum(a, b))
        cols.append(np.maximum(a, b))
        values.append(np.exp(squared[crossing] * np.float32(-beta)) / np.float32(distance))
    if not values:  # a single pixel: no neighbours at all
        return beta, sparse.csr_matrix((size, size), dtype=np.float32)
    pairs = sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )
    pairs.sum_duplicates()
    return beta, pairs


def _coarser(finer: Level) -> Level:
    """The next level: cells twice as large, one region per palette colour present in a cell."""
    columns = -(-finer.columns // 2)
    cell_row, cell_column = np.divmod(finer.cell_of, finer.columns)
    cell_of = (cell_row // 2) * columns + cell_column // 2
    keys, up = np.unique(cell_of.astype(np.int64) * PALETTE + finer.colour, return_inverse=True)
    up = up.astype(np.int32).ravel()
    size = len(keys)
    count = np.bincount(up, finer.count, size)
    moments = np.stack([np.bincount(up, finer.moments[:, i], size) for i in range(finer.moments.shape[1])], 1)
    pairs = finer.pairs.tocoo()
    a, b = up[pairs.row], up[pairs.col]
    differ = a != b
    coarse_pairs = sparse.csr_matrix(
        (pairs.data[differ], (np.minimum(a, b)[differ], np.maximum(a, b)[differ])), shape=(size, size)
    )
    coarse_pairs.sum_duplicates()
    cell_of, colour = (k.astype(np.int32) for k in np.divmod(keys, PALETTE))
    return Level(finer.cell * 2, columns, up[finer.parent], cell_of, colour, count, moments, coarse_pairs)
