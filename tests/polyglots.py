"""Files that are an image and something else at once, as an attacker uploads them: a GIF that is also a
script, and a PNG whose text chunk is a page that loads it."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo


def polyglot_gif(script: str) -> bytes:
    """A GIF that is also JavaScript: `GIF89a/*<the image>*/=1;<script>//`. Its width, 0x2a2f, is the
    comment's opening `/*`; Pillow reads a 10799x1 GIF and ignores what follows the GIF's trailer."""
    picture = PILImage.new("P", (0x2A2F, 1))
    data = io.BytesIO()
    picture.save(data, format="GIF")
    image = b"GIF89a" + data.getvalue()[6:]
    assert image[6:8] == b"/*" and b"*/" not in image
    return image + f"*/=1;{script}//".encode()


def png_with_text(text: str) -> bytes:
    """A small PNG that carries `text` as is in a tEXt chunk: read as HTML, the text is markup."""
    info = PngInfo()
    info.add_text("Comment", text)
    data = io.BytesIO()
    PILImage.new("RGB", (8, 8), (90, 40, 160)).save(data, format="PNG", pnginfo=info)
    return data.getvalue()
