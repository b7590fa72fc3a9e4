"""The import's JPEG header walk (apps/datasets/jpeg.py) gives Pillow's size for the JPEGs cameras and tools
write, and leaves to Pillow (None) whatever it does not expect, so a file is never let through that Pillow's
open would refuse."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage

from apps.datasets.jpeg import jpeg_size


def jpeg(mode: str = "RGB", size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    out = io.BytesIO()
    PILImage.new(mode, size, 90 if mode == "L" else (10, 20, 30, 40)[: len(mode)]).save(
        out, "JPEG", **options
    )
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "size"),
    [
        (jpeg(), (64, 48)),
        (jpeg(size=(640, 480), quality=95), (640, 480)),
        (jpeg(progressive=True, size=(33, 17)), (33, 17)),  # SOF2
        (jpeg("L", (7, 300)), (7, 300)),
        (jpeg("CMYK", (20, 10)), (20, 10)),
        (jpeg(exif=b"Exif\x00\x00" + b"\x00" * 4000, size=(50, 60)), (50, 60)),  # a large APP1 first
        (jpeg(icc_profile=b"\x00" * 70000, size=(5, 6)), (5, 6)),  # an ICC profile over several APP2
    ],
)
def test_it_reads_the_size_pillow_reads(content: bytes, size: tuple[int, int]) -> None:
    with PILImage.open(io.BytesIO(content)) as picture:
        assert picture.size == size
    assert jpeg_size(content) == size


def test_fill_bytes_before_a_marker_are_skipped() -> None:
    content = jpeg()
    padded = content[:2] + b"\xff\xff\xff" + content[2:]

    assert jpeg_size(padded) == (64, 48)


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: c[:200],  # cut short in its headers (the frame header or a table)
        lambda c: c[:2] + b"\x00\x00" + c[2:],  # no marker where one must be
        lambda c: b"\xff\xd8" + c[c.index(b"\xff\xda") :],  # a scan without a frame header
        lambda c: c[:4] + b"\x00\x01" + c[6:],  # a segment length under 2
        lambda c: c.replace(b"\xff\xc0\x00\x11\x08\x00\x30\x00\x40", b"\xff\xc0\x00\x11\x08\x00\x00\x00\x40"),
    ],
)
def test_what_it_does_not_expect_is_left_to_pillow(damage: object) -> None:
    assert jpeg_size(damage(jpeg())) is None  # type: ignore[operator]


def test_a_file_that_is_no_jpeg_is_left_to_pillow() -> None:
    out = io.BytesIO()
    PILImage.new("RGB", (4, 4)).save(out, "PNG")

    assert jpeg_size(out.getvalue()) is None
