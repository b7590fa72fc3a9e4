"""Writes to datasets: adding an image file to storage with its size, checksum and thumbnail, under a storage
name that ends in the extension of the format its bytes are in; making a thumbnail."""

from __future__ import annotations

import hashlib
import io
import posixpath
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from .models import Dataset, Image

THUMBNAIL_SIZE = (256, 256)
# What the app itself writes in the default storage; an import never reads there (apps/datasets/imports.py).
# imports/<id>/ holds an upload's files from the request until its import task has registered them.
# exports/<job>/<id>/ holds the zips of queued exports until they expire (apps/interchange/exports.py).
STORED_PREFIXES = ("datasets/", "thumbnails/", "imports/", "exports/")
MAX_NAME_BYTES = 255  # of one path segment: what local file systems hold


@dataclass(frozen=True, slots=True)
class ImageFormat:
    """A format the app stores and serves: the image formats browsers show (TIFF: Safari)."""

    name: str
    extension: str  # the one a stored name is given
    extensions: tuple[str, ...]  # those a name may already end in (lower case, no dot)
    content_type: str
    signatures: tuple[bytes, ...]  # how its files begin (WebP: after the RIFF size, see sniff)


IMAGE_FORMATS = (
    ImageFormat("PNG", "png", ("png",), "image/png", (b"\x89PNG\r\n\x1a\n",)),
    ImageFormat("JPEG", "jpg", ("jpg", "jpeg"), "image/jpeg", (b"\xff\xd8\xff",)),
    ImageFormat("GIF", "gif", ("gif",), "image/gif", (b"GIF87a", b"GIF89a")),
    ImageFormat("WebP", "webp", ("webp",), "image/webp", (b"RIFF",)),
    ImageFormat("BMP", "bmp", ("bmp",), "image/bmp", (b"BM",)),
    ImageFormat(
        "TIFF", "tiff", ("tif", "tiff"), "image/tiff", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    ),
)
# Pillow's names for them; MPO is a JPEG with more pictures after the first (many cameras write it).
_BY_PILLOW = {"PNG": 0, "JPEG": 1, "MPO": 1, "GIF": 2, "WEBP": 3, "BMP": 4, "TIFF": 5}
JPEG = IMAGE_FORMATS[1]  # thumbnails are JPEG whatever the image is
SNIFF_BYTES = 12


class UnsupportedFormat(ValueError):
    """Pillow read the image, but it is in none of IMAGE_FORMATS: no browser would show it."""


def sniff(head: bytes) -> ImageFormat | None:
    """The format that bytes beginning with `head` (SNIFF_BYTES or more) are in, by their signature alone."""
    for image_format in IMAGE_FORMATS:
        if head.startswith(image_format.signatures):
            if image_format.name == "WebP" and head[8:12] != b"WEBP":
                continue
            return image_format
    return None


def with_extension(name: str, image_format: ImageFormat) -> str:
    """`name` if it already ends in one of the format's extensions (any case), else `name` with the format's
    extension added (`y.html` holding a PNG: `y.html.png`), its last segment cut to stay within 255 bytes."""
    folder, base = posixpath.split(name)
    if posixpath.splitext(base)[1][1:].lower() in image_format.extensions:
        return name
    suffix = f".{image_format.extension}"
    base = base.encode()[: MAX_NAME_BYTES - len(suffix)].decode(errors="ignore")
    return posixpath.join(folder, base + suffix)


def detected_format(picture: PILImage.Image, content: bytes) -> ImageFormat:
    index = _BY_PILLOW.get(picture.format or "")
    # The signature must say the same, since /media/ serves the file by its signature.
    if index is None or sniff(content[:SNIFF_BYTES]) is not IMAGE_FORMATS[index]:
        accepted = ", ".join(f.name for f in IMAGE_FORMATS)
        raise UnsupportedFormat(f"a {picture.format} image; the formats accepted are {accepted}")
    return IMAGE_FORMATS[index]


def _content(data: bytes, content_type: str) -> ContentFile:
    # Object storage (django-storages' S3Storage) takes an object's ContentType from `content_type` before
    # guessing it from the name; local storage ignores it.
    content = ContentFile(data)
    content.content_type = content_type  # type: ignore[attr-defined]
    return content


def stored_content(data: bytes, image_format: ImageFormat) -> ContentFile:
    return _content(data, image_format.content_type)


def image_storage_name(dataset_id: int, path: str, image_format: ImageFormat) -> str:
    return with_extension(f"datasets/{dataset_id}/{path}", image_format)


def thumbnail_storage_name(dataset_id: int, path: str) -> str:
    return with_extension(f"thumbnails/{dataset_id}/{posixpath.splitext(path)[0]}", JPEG)


def thumbnail_bytes(content: bytes) -> bytes:
    """A JPEG at most THUMBNAIL_SIZE of the image `content`. Pillow's draft mode has a JPEG decoded at
    1/2 to 1/8 of its size straight away, the larger part of a thumbnail's cost otherwise."""
    with PILImage.open(io.BytesIO(content)) as picture:
        # Asked for the thumbnail's own size (not the box's: a 640x480 photo fits 256x192, and 320x240 at
        # half scale is under 256x256), the decoder may halve the picture as often as it stays above it.
        scale = min(THUMBNAIL_SIZE[0] / picture.width, THUMBNAIL_SIZE[1] / picture.height, 1)
        picture.draft("RGB", (max(1, int(picture.width * scale)), max(1, int(picture.height * scale))))
        thumb = picture.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    data = io.BytesIO()
    thumb.save(data, format="JPEG", quality=85)
    return data.getvalue()


def thumbnail_store(*, dataset_id: int, path: str, content: bytes) -> str:
    """Make the image's thumbnail and store it; its storage name."""
    return default_storage.save(
        thumbnail_storage_name(dataset_id, path), _content(thumbnail_bytes(content), JPEG.content_type)
    )


def image_create(*, dataset: Dataset, path: str, content: bytes) -> Image:
    """Store `content` as the dataset image at `path`; Pillow reads its size and format and makes a thumbnail,
    here and now (imports register images first and queue their thumbnails: apps/datasets/imports.py).

    `path` and the name stay as given (labeled imports find images by them); the storage name is the path
    with the extension of the detected format, so that no stored image is named like a page or a script.
    """
    with PILImage.open(io.BytesIO(content)) as picture:
        picture.load()
        image_format = detected_format(picture, content)
        width, height = picture.size
    stored = default_storage.save(
        image_storage_name(dataset.pk, path, image_format), stored_content(content, image_format)
    )
    return Image.objects.create(
        dataset=dataset,
        file=stored,
        thumbnail=thumbnail_store(dataset_id=dataset.pk, path=path, content=content),
        name=posixpath.basename(path),
        path=path,
        width=width,
        height=height,
        checksum=hashlib.sha256(content).hexdigest(),
    )
