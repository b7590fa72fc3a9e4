"""The model plug's own cost (issue 23): what polylog and the protocol add to a model server's time, on a
2-megapixel photo-like JPEG, against the fake model of tests/assist_model_servers.py on loopback (it answers
at once, after decoding the request as any model server must). Prints one JSON line of rows for
tests/bench/run.py.

Measured, p50 and p95: preparing (the stored file read and base64-encoded into the request, once per image
and process: the assist cache keeps the file); one proposal (request built, sent, answered, read and
checked); and reading a dense answer (a 5,000-point mask contour, mended and thinned to the domain's 1,000
vertices), which a real model's answer costs on top.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from apps.assist.model import ModelImage, proposals_from, propose, request_body  # noqa: E402
from tests.assist_model_servers import fake_model, model_server  # noqa: E402

WIDTH, HEIGHT = 1632, 1224  # 2.0 megapixels, a 4:3 camera's


def photo_like_jpeg() -> bytes:
    """Smooth shading with texture and noise, so the JPEG is as large as a photo's (not a flat file)."""
    rng = np.random.default_rng(23)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = 120 + 60 * np.sin(xs / 97) * np.cos(ys / 61) + 30 * np.sin((xs + ys) / 13)
    pixels = np.stack([base, base * 0.8 + 20, 255 - base], axis=-1) + rng.normal(0, 12, (HEIGHT, WIDTH, 3))
    out = io.BytesIO()
    PILImage.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def rows_for(name: str, samples: list[float]) -> list[dict]:
    return [
        {
            "name": f"{name} {q}",
            "value": round(pct(samples, p) * 1000, 1),
            "unit": "ms",
            "target": "",
            "ok": None,
        }
        for q, p in (("p50", 0.5), ("p95", 0.95))
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 10 if args.quick else 40
    content = photo_like_jpeg()
    image = ModelImage(id=1, width=WIDTH, height=HEIGHT, checksum="0" * 64, content=content)
    points = [{"x": 800.0, "y": 600.0, "label": 1}]
    box = [500.0, 400.0, 1100.0, 900.0]
    with tempfile.NamedTemporaryFile(suffix=".jpg") as stored:
        stored.write(content)
        stored.flush()

        def prepare() -> None:
            with open(stored.name, "rb") as handle:
                request_body(ModelImage(1, WIDTH, HEIGHT, "0" * 64, handle.read()), points, box)

        preparing = timed(prepare, n)
    settings.POLYLOG_ASSIST_MODEL_TIMEOUT = 30
    settings.POLYLOG_ASSIST_MODEL_TOKEN = ""
    with model_server(fake_model) as server:
        settings.POLYLOG_ASSIST_MODEL_URL = server.url
        propose(image, points, box)  # the connection path warmed once
        proposing = timed(lambda: propose(image, points, box), n)
    contour = [
        [800 + 300 * math.cos(t / 5000 * math.tau), 600 + 250 * math.sin(t / 5000 * math.tau)]
        for t in range(5000)
    ]
    dense = json.dumps({"polygons": [{"points": contour, "score": 0.9}]}).encode()
    reading = timed(lambda: proposals_from(dense, WIDTH, HEIGHT, 1000), n)
    rows = [
        *rows_for(f"assist model: preparing a 2 MP JPEG ({len(content) // 1024} KiB)", preparing),
        *rows_for("assist model: one proposal, fake model on loopback", proposing),
        *rows_for("assist model: reading a 5,000-point answer", reading),
    ]
    print(json.dumps([{**row, "database": "-"} for row in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
