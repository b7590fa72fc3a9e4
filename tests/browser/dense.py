"""Dense images for the browser tests and the browser benchmark: a big photo-like JPEG uploaded into a new
dataset, a job over it, and many 24-vertex rings on a grid, pasted in one command (issue 20)."""

from __future__ import annotations

import io
import math
import random
import uuid
from typing import Any

from .helpers import upload

VERTICES = 24


def photo(width: int, height: int, seed: int = 3) -> bytes:
    """A JPEG with some texture (blobs on a gradient), so the browser decodes and draws a real photo's cost."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    small = Image.new("RGB", (width // 20, height // 20))
    draw = ImageDraw.Draw(small)
    for _ in range(400):
        x, y = rng.randrange(small.width), rng.randrange(small.height)
        r = rng.randint(3, 30)
        draw.ellipse(
            (x - r, y - r, x + r, y + r),
            fill=(rng.randint(40, 220), rng.randint(60, 200), rng.randint(40, 180)),
        )
    picture = small.filter(ImageFilter.GaussianBlur(2)).resize((width, height), Image.BILINEAR)
    data = io.BytesIO()
    picture.save(data, format="JPEG", quality=85)
    return data.getvalue()


def dense_job(api: Any, names: list[str], *, width: int = 6000, height: int = 4000) -> dict[str, Any]:
    """A new dataset of len(names) width x height photos and a job over it (one label, "cell"), with ann as
    annotator; the job as the API gives it, with its items in the order of `names` under "items"."""
    dataset = api.post("/api/datasets/", {"name": f"Dense {uuid.uuid4().hex[:8]}"})
    upload(api, dataset["id"], {f"{name}.jpg": photo(width, height, n) for n, name in enumerate(names)})
    job = api.post(
        "/api/jobs/",
        {
            "name": f"Dense {uuid.uuid4().hex[:8]}",
            "dataset": dataset["id"],
            "label_classes": [{"name": "cell", "color": "#e6194b"}],
        },
    )
    api.post(f"/api/jobs/{job['id']}/members/", {"username": "ann", "role": "annotator"})
    items = api.get(f"/api/jobs/{job['id']}/items/?page_size=500&ordering=id")["results"]
    job["items"] = sorted(items, key=lambda item: item["image"]["name"])
    return job


def rings(count: int, width: int = 6000, height: int = 4000, gap: float = 20.0) -> list[list[list[float]]]:
    """`count` rings of 24 vertices on a grid over the image, in rows, `gap` image pixels apart at their
    closest (vertex 0 of one faces vertex 12 of the next in its row). Vertex 0 is the rightmost."""
    columns = math.ceil(math.sqrt(count * width / height))
    rows = math.ceil(count / columns)
    cell = min(width / columns, height / rows)
    radius = (cell - gap) / 2
    out = []
    for n in range(count):
        cx = cell * (n % columns + 0.5)
        cy = cell * (n // columns + 0.5)
        out.append(
            [
                [
                    round(cx + radius * math.cos(2 * math.pi * v / VERTICES), 2),
                    round(cy + radius * math.sin(2 * math.pi * v / VERTICES), 2),
                ]
                for v in range(VERTICES)
            ]
        )
    return out


def paste(api: Any, item_id: int, label_class_id: int, shapes: list[list[list[float]]]) -> list[str]:
    """Put `shapes` on the item in one paste_shapes command (up to 1,000); their ids, in order."""
    ids = [str(uuid.uuid4()) for _ in shapes]
    api.command(
        item_id,
        {
            "type": "paste_shapes",
            "shapes": [
                {"shape_id": i, "label_class_id": label_class_id, "points": p}
                for i, p in zip(ids, shapes, strict=True)
            ],
        },
    )
    return ids
