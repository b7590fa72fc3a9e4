"""Ask the configured model server for one proposal, as the Model tool would: a setup check for operators.

It sends a small generated picture (a bright disc on a dark ground, 96x72) with a box around the disc, and
prints what came back and how long it took, or the refusal a person would see (exit status 1). Nothing is
read from or written to the database.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from PIL import Image as PILImage
from PIL import ImageDraw

from apps.common.errors import ApiError

from ...model import ModelImage, model_timeout, model_url, propose

WIDTH, HEIGHT = 96, 72
BOX = [24.0, 12.0, 72.0, 60.0]


def check_picture() -> bytes:
    picture = PILImage.new("RGB", (WIDTH, HEIGHT), (20, 24, 28))
    ImageDraw.Draw(picture).ellipse([28, 16, 68, 56], fill=(230, 200, 60))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


class Command(BaseCommand):
    help = (
        "Send the configured model server (POLYLOG_ASSIST_MODEL_URL) a small test picture with a box, and"
        " report its answer or why there is none (exit 1)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        url = model_url()
        if not url:
            raise CommandError("POLYLOG_ASSIST_MODEL_URL is empty: no model server is configured.")
        content = check_picture()
        image = ModelImage(0, WIDTH, HEIGHT, hashlib.sha256(content).hexdigest(), content)
        started = time.monotonic()
        try:
            proposals = propose(image, [], BOX)
        except ApiError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        took = (time.monotonic() - started) * 1000
        self.stdout.write(
            f"The model server answered {len(proposals)} usable polygon(s) in {took:.0f} ms"
            f" (timeout {model_timeout():g} s)."
        )
        for n, proposal in enumerate(proposals, 1):
            self.stdout.write(f"  {n}. score {proposal.score:g}, {len(proposal.points)} points")
        if not proposals:
            self.stdout.write("The Model tool would tell the person no_proposal for this box.")
