"""The OpenCV assist tools' figures for `make bench` (issue 23); figures, never asserted as timings.

Latency, per tool on a 2-megapixel image (a VOC photo of ../shared/data/labelme-voc2011 scaled up to
1732x1170 and stored as JPEG, or a drawn picture when ../shared is absent), p50 and p95:
- preparation, the first request on an image (cache cold): reading and decoding the file, plus for the
  scissors the edge map of the first anchor, plus for the box the image's regions (apps/assist/regions.py:
  what every box on the image is cut over, cached with the image);
- one proposal with the image (and for the box its regions) cached: a scissors preview from the same anchor
  (getContour), a scissors preview from a new anchor (a new edge map), box to polygon, box refined by two
  clicks, a wand click; and the first box on a cold image (decoding, regions, the cut: what a person waits
  for the first time).

Quality, on the three VOC photos against the polygons people drew (their `__ignore__` regions left out):
- box to polygon from each human polygon's bounding box (over the photo's regions, prepared once, as the
  API does): median and minimum IoU, with pycocotools masks
  of both polygons (as COCO evaluation rasterises them), alone and after one corrective click (at the
  point deepest inside the larger error: foreground where the proposal missed, background where it took
  too much); each object's IoU goes to stderr;
- scissors clicks: for each human polygon, anchors on every k-th of its vertices, k from a third of them
  down to 1, until the closed path stays near the human outline (mean distance <= NEAR_PX and 90 % of its
  points within FAR_PX); the anchors needed, summed, against the vertices the person clicked.

The issue's target, one row per tool: a proposal's p50 under its image's preparation p50, with the ratio.

Prints one JSON list of rows on its last line.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from PIL import Image as PILImage  # noqa: E402
from shapely.ops import polylabel  # noqa: E402

from apps.assist import box, scissors, wand  # noqa: E402
from apps.assist.images import ByteLRU, decode  # noqa: E402
from apps.assist.prompts import BoxPrompt, LabeledPoint, ScissorsPrompt, WandPrompt  # noqa: E402
from apps.assist.proposals import polygons_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "data" / "labelme-voc2011"
WIDTH, HEIGHT = 1732, 1170  # 2.03 megapixels, the VOC photos' aspect
NEAR_PX, FAR_PX = 2.0, 5.0


def pct(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def timed(work: Callable[[int], Any], n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        work(i)
        out.append(time.perf_counter() - start)
    return out


def row(name: str, value: Any, unit: str, target: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, "database": "-"}


def latency_rows(name: str, samples: list[float]) -> list[dict[str, Any]]:
    return [
        row(f"{name} {q}", round(pct(samples, p) * 1000, 1), "ms") for q, p in (("p50", 0.5), ("p95", 0.95))
    ]


def large_picture() -> tuple[bytes, str]:
    """A 2-megapixel JPEG: a sample photo scaled up, or a drawn one without ../shared."""
    photo = SAMPLES / "2011_000003.jpg"
    if photo.exists():
        with PILImage.open(photo) as picture:
            scaled = picture.convert("RGB").resize((WIDTH, HEIGHT), PILImage.Resampling.BICUBIC)
        source = "VOC 2011_000003 scaled up"
    else:
        ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
        drawn = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        drawn[:] = (60, 90, 70)
        drawn[(xs - 866) ** 2 + (ys - 585) ** 2 <= 300**2] = (220, 180, 60)
        noise = np.random.default_rng(1).integers(-12, 13, drawn.shape)
        scaled = PILImage.fromarray(np.clip(drawn + noise, 0, 255).astype(np.uint8))
        source = "drawn (no ../shared)"
    out = io.BytesIO()
    scaled.save(out, format="JPEG", quality=90)
    return out.getvalue(), source


def latency(quick: bool) -> list[dict[str, Any]]:
    content, source = large_picture()
    n = 5 if quick else 15
    anchor = (520.0, 360.0)  # on the left person's hair in the scaled photo; anywhere works
    near = [(anchor[0] + 60 + 3 * i, anchor[1] + 40 + 2 * i) for i in range(40)]
    a_box = (430.0, 250.0, 900.0, 1100.0)
    clicks = (LabeledPoint(650, 600, 1), LabeledPoint(440, 1090, 0))

    def prepare_image(_: int) -> None:
        decode(content)

    def prepare_box(_: int) -> None:
        box.cached_regions(decode(content), ByteLRU(lambda: 10**9), "big")

    def first_box(_: int) -> None:
        pixels = decode(content)
        regions = box.cached_regions(pixels, ByteLRU(lambda: 10**9), "big")
        box.box_proposals(pixels, BoxPrompt(a_box, (), 1.0), regions=regions)

    def prepare_scissors(_: int) -> None:
        cache = ByteLRU(lambda: 10**9)
        pixels = decode(content)
        scissors.preview(pixels, ScissorsPrompt((anchor,), near[0], False, 1.0), cache, "big")

    pixels = decode(content)
    cache = ByteLRU(lambda: 10**9)
    scissors.preview(pixels, ScissorsPrompt((anchor,), near[0], False, 1.0), cache, "big")
    regions = box.cached_regions(pixels, cache, "big")

    def preview_same_anchor(i: int) -> None:
        scissors.preview(pixels, ScissorsPrompt((anchor,), near[i % len(near)], False, 1.0), cache, "big")

    def preview_new_anchor(i: int) -> None:
        start = (300.0 + 37 * i, 300.0 + 23 * i)
        scissors.preview(
            pixels, ScissorsPrompt((start,), (start[0] + 80, start[1] + 50), False, 1.0), cache, "big"
        )

    preparing_image = timed(prepare_image, n)
    rows = [
        row("assist: 2 MP test image", source, ""),
        *latency_rows("assist preparation, image read and decoded (2 MP JPEG, cold)", preparing_image),
        *latency_rows(
            "assist scissors preparation (decode + first edge map, cold)", timed(prepare_scissors, n)
        ),
        *latency_rows("assist box preparation (decode + the image's regions, cold)", timed(prepare_box, n)),
        *latency_rows("assist box, first on a cold image (decode + regions + cut)", timed(first_box, n)),
        *latency_rows("assist scissors preview, same anchor (warm)", timed(preview_same_anchor, 4 * n)),
        *latency_rows("assist scissors preview, new anchor (warm image)", timed(preview_new_anchor, n)),
        *latency_rows(
            "assist box to polygon, 470x850 box (warm)",
            timed(lambda _: box.box_proposals(pixels, BoxPrompt(a_box, (), 1.0), regions=regions), n),
        ),
        *latency_rows(
            "assist box + 2 clicks (warm)",
            timed(lambda _: box.box_proposals(pixels, BoxPrompt(a_box, clicks, 1.0), regions=regions), n),
        ),
        *latency_rows(
            "assist wand click (warm)",
            timed(lambda i: wand.wand_proposals(pixels, WandPrompt((200.0 + i, 900.0), 24, 1.0)), 2 * n),
        ),
    ]
    return rows


# Quality on the sample photos ----------------------------------------------------------------------


def coco_iou(a: list[list[float]], b: list[list[float]], width: int, height: int) -> float:
    from pycocotools import mask as masks

    rles = [masks.merge(masks.frPyObjects([[v for p in poly for v in p]], height, width)) for poly in (a, b)]
    return float(masks.iou([rles[0]], [rles[1]], [0])[0][0])


def corrective_click(proposed: list[list[float]], human: list[list[float]]) -> LabeledPoint:
    """The click a person would make next (the usual protocol of interactive segmentation benchmarks): at
    the point deepest inside the larger error, foreground where the proposal missed the object, background
    where it took too much."""
    truth = shapely.make_valid(shapely.polygons(human))
    drawn = shapely.polygons(proposed) if len(proposed) >= 3 else shapely.Polygon()
    missed, extra = truth.difference(drawn), drawn.difference(truth)
    error, label = (missed, 1) if missed.area >= extra.area else (extra, 0)
    largest = max(polygons_of(error), key=lambda p: p.area)
    inside = polylabel(largest, tolerance=1.0)
    return LabeledPoint(inside.x, inside.y, label)


def near_outline(path: list[list[float]], outline: Any) -> bool:
    distances = [outline.distance(shapely.Point(p)) for p in path]
    return statistics.fmean(distances) <= NEAR_PX and pct(distances, 0.9) <= FAR_PX


def clicks_needed(pixels: np.ndarray, points: list[list[float]], cache: ByteLRU, key: str) -> int:
    """Anchors on every k-th human vertex, k falling, until the closed path stays near the outline; the
    human vertex count when even every vertex does not (the person's own clicks would be needed)."""
    outline = shapely.make_valid(shapely.polygons(points)).boundary
    n = len(points)
    for step in range(max(1, n // 3), 0, -1):
        anchors = tuple(tuple(p) for p in points[::step])
        if len(anchors) < 3:
            continue
        path: list[list[float]] = []
        for start, end in zip(anchors, [*anchors[1:], anchors[0]], strict=True):
            path += scissors.segment(pixels, start, end, cache, key)
        if near_outline(path, outline):
            return len(anchors)
    return n


def quality(quick: bool) -> list[dict[str, Any]]:
    if not SAMPLES.is_dir():
        print(f"{SAMPLES} is missing: the quality figures are left out", file=sys.stderr)
        return [row("assist quality on the VOC photos", "skipped", "", "needs ../shared")]
    box_ious, clicked_ious, anchors, vertices = [], [], 0, 0
    for path in sorted(SAMPLES.glob("*.json")):
        document = json.loads(path.read_text())
        pixels = decode((SAMPLES / document["imagePath"]).read_bytes())
        height, width = pixels.shape[:2]
        cache = ByteLRU(lambda: 10**9)
        regions = box.cached_regions(pixels, cache, path.stem)
        for shape in document["shapes"]:
            if shape["label"] == "__ignore__":
                continue
            points = shape["points"]
            xs, ys = [x for x, _ in points], [y for _, y in points]
            a_box = (max(0.0, min(xs)), max(0.0, min(ys)), min(width, max(xs)), min(height, max(ys)))
            found = box.box_proposals(pixels, BoxPrompt(a_box, (), 1.0), regions=regions)
            box_ious.append(coco_iou(found[0].points, points, width, height) if found else 0.0)
            click = corrective_click(found[0].points if found else [], points)
            found = box.box_proposals(pixels, BoxPrompt(a_box, (click,), 1.0), regions=regions)
            clicked_ious.append(coco_iou(found[0].points, points, width, height) if found else 0.0)
            print(  # per object, to see what a change to box.py moves (stderr: the rows stay the last line)
                f"box IoU {path.stem} {shape['label']} {a_box[2] - a_box[0]:.0f}x{a_box[3] - a_box[1]:.0f}: "
                f"{box_ious[-1]:.3f}, after a click {clicked_ious[-1]:.3f}",
                file=sys.stderr,
            )
            if not quick or len(points) <= 12:
                anchors += clicks_needed(pixels, points, cache, path.stem)
                vertices += len(points)
    median = statistics.median(box_ious)
    return [
        row(
            f"assist box IoU vs human polygons, median ({len(box_ious)})",
            round(median, 3),
            "IoU",
            ">= 0.75",
            median >= 0.75,
        ),
        row("assist box IoU vs human polygons, minimum", round(min(box_ious), 3), "IoU"),
        row("assist box + 1 corrective click IoU, median", round(statistics.median(clicked_ious), 3), "IoU"),
        row("assist box + 1 corrective click IoU, minimum", round(min(clicked_ious), 3), "IoU"),
        row(
            f"assist scissors anchors / human vertices (<= {NEAR_PX:g} px mean)",
            f"{anchors}/{vertices}",
            "clicks",
            "< 1",
            anchors < vertices,
        ),
    ]


def under(
    rows: list[dict[str, Any]], tool: str, proposal: str, preparation: str, what: str = "proposal"
) -> dict[str, Any]:
    """The issue's target as a row: a proposal's p50 under the p50 of its image's preparation (what the
    server does once per image and caches: for the wand, reading and decoding it; for the scissors, that
    and the first anchor's edge map; for the box, that and the image's regions), with the ratio."""

    def p50(prefix: str) -> float:
        return next(r["value"] for r in rows if r["name"].startswith(prefix) and r["name"].endswith("p50"))

    took, prepared = p50(proposal), p50(preparation)
    return row(
        f"assist {tool}: {what} p50 under preparation p50",
        f"{took} vs {prepared} ({took / prepared:.2f}x)",
        "ms",
        "yes",
        took < prepared,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one request's work on one core, as a server with concurrent requests sees it
    rows = latency(args.quick)
    rows += quality(args.quick)
    rows += [
        under(rows, "scissors", "assist scissors preview, same", "assist scissors preparation", "preview"),
        under(rows, "box", "assist box to polygon", "assist box preparation"),
        under(rows, "box + 2 clicks", "assist box + 2 clicks", "assist box preparation"),
        under(rows, "wand", "assist wand click", "assist preparation, image read"),
    ]
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
