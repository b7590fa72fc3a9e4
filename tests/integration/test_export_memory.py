"""An export's memory does not grow with its images: what every format writes last (VOC's and YOLO's lists
of images, COCO's image files) waits in a temporary file, and the zip's directory too
(apps/interchange/zipping.py). Driven with made-up records, many and ten times as many, under tracemalloc.
(COCO's own document keeps a set of the image ids it wrote, apps/interchange/coco.py: docs/performance.md.)"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from apps.interchange import export
from apps.interchange.model import ImageRecord
from apps.labeling.models import Item

pytestmark = pytest.mark.django_db


def peak_bytes(job: Any, fmt: str, count: int, monkeypatch: Any) -> int:
    def records(*args: Any, **kwargs: Any) -> Iterator[tuple[ImageRecord, str]]:
        for n in range(count):
            yield ImageRecord(n + 1, f"part{n % 10}/image_{n:06d}.png", 4, 3, ()), f"datasets/x/{n}.png"

    monkeypatch.setattr(export, "image_records", records)
    tracemalloc.start()
    try:
        for _ in export.export_stream(job, Item.objects.none(), fmt):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["yolo", "voc", "labelme"])
def test_an_exports_peak_memory_does_not_grow_with_its_images(job: Any, fmt: str, monkeypatch: Any) -> None:
    few, many = (peak_bytes(job, fmt, count, monkeypatch) for count in (1000, 10000))

    # A list or a zip directory entry per image is 100-400 bytes; what is left is noise.
    assert (many - few) / 9000 < 25, (few, many)
