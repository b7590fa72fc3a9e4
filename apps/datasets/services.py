"""Writes to datasets: adding an image file to storage with its size, checksum and thumbnail."""

from __future__ import annotations

import hashlib
import io
import posixpath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from .models import Dataset, Image

THUMBNAIL_SIZE = (256, 256)


def image_create(*, dataset: Dataset, path: str, content: bytes) -> Image:
    """Store `content` as the dataset image at `path`; Pillow reads its size and makes a thumbnail."""
    with PILImage.open(io.BytesIO(content)) as picture:
        picture.load()
        width, height = picture.size
        thumb = picture.convert("RGB")
        thumb.thumbnail(THUMBNAIL_SIZE)
        thumb_bytes = io.BytesIO()
        thumb.save(thumb_bytes, format="JPEG", quality=85)
    name = posixpath.basename(path)
    stored = default_storage.save(f"datasets/{dataset.pk}/{path}", ContentFile(content))
    thumb_name = default_storage.save(
        f"thumbnails/{dataset.pk}/{posixpath.splitext(path)[0]}.jpg", ContentFile(thumb_bytes.getvalue())
    )
    return Image.objects.create(
        dataset=dataset,
        file=stored,
        thumbnail=thumb_name,
        name=name,
        path=path,
        width=width,
        height=height,
        checksum=hashlib.sha256(content).hexdigest(),
    )
