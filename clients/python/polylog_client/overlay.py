"""An item's closed shapes drawn over its image, as the thumbnails' overlay draws them (docs/api.md,
"Thumbnail overlays"): each polygon filled with its label's colour at 35 % and outlined in it."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

FILL_ALPHA = round(0.35 * 255)
GREY = (128, 128, 128)


def hex_color(color: str | None) -> tuple[int, int, int]:
    """`#rrggbb` as (r, g, b); anything else grey, as the server's overlay does."""
    if isinstance(color, str) and len(color) == 7 and color.startswith("#"):
        try:
            return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))
        except ValueError:
            pass
    return GREY


def overlay_png(image_bytes: bytes, state: dict[str, Any], colors: dict[int, str]) -> bytes:
    """The image (any size: a preview scaled down is fine) with the state's shapes on it, as PNG bytes.

    `state` is an item's state as the API returns it (its points in the image's own pixels, scaled here to
    the image given); `colors` maps label class ids to `#rrggbb`.
    """
    with Image.open(io.BytesIO(image_bytes)) as opened:
        base = opened.convert("RGBA")
    scale_x = base.width / float(state["image"]["width"])
    scale_y = base.height / float(state["image"]["height"])
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for shape in state["shapes"]:
        points = [(x * scale_x, y * scale_y) for x, y in shape["points"]]
        if len(points) < 3:
            continue
        rgb = hex_color(colors.get(shape["label_class_id"]))
        draw.polygon(points, fill=(*rgb, FILL_ALPHA), outline=(*rgb, 255))
    out = io.BytesIO()
    Image.alpha_composite(base, layer).convert("RGB").save(out, format="PNG")
    return out.getvalue()
