"""Create the demo user and a demo job with a few real photos (or generated ones without ../shared)."""

from __future__ import annotations

import io
import random
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageDraw

from apps.datasets.models import Dataset
from apps.datasets.services import image_create
from apps.labeling.models import LabelingJob
from apps.labeling.services import job_create

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-polylog"
DEMO_JOB = "Demo: PASCAL VOC segmentation"
SHARED_PHOTOS = settings.BASE_DIR.parent / "shared" / "data" / "labelme-voc2011"
LABEL_CLASSES = [
    ("person", "#e6194b"),
    ("bottle", "#3cb44b"),
    ("chair", "#4363d8"),
    ("sofa", "#f58231"),
    ("bus", "#911eb4"),
    ("car", "#42d4f4"),
]


def generated_photos(count: int = 6) -> list[tuple[str, bytes]]:
    """Simple scenes of coloured shapes, so the demo runs where the real photos are absent."""
    rng = random.Random(7)
    out = []
    for n in range(count):
        picture = PILImage.new("RGB", (640, 480), (rng.randint(150, 230), rng.randint(150, 230), 210))
        draw = ImageDraw.Draw(picture)
        for _ in range(5):
            x, y = rng.randint(20, 520), rng.randint(20, 360)
            colour = tuple(rng.randint(0, 200) for _ in range(3))
            if rng.random() < 0.5:
                draw.ellipse((x, y, x + rng.randint(40, 120), y + rng.randint(40, 120)), fill=colour)
            else:
                draw.polygon(
                    [(x, y), (x + rng.randint(40, 120), y + 10), (x + 30, y + rng.randint(40, 110))],
                    fill=colour,
                )
        data = io.BytesIO()
        picture.save(data, format="JPEG", quality=88)
        out.append((f"generated_{n + 1:03d}.jpg", data.getvalue()))
    return out


def demo_photos(source: Path) -> list[tuple[str, bytes]]:
    if source.is_dir():
        photos = [(p.name, p.read_bytes()) for p in sorted(source.glob("*.jpg"))]
        if photos:
            return photos
    return generated_photos()


class Command(BaseCommand):
    help = "Create the demo user (demo / demo-polylog) and a demo job with sample images. Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--photos", type=Path, default=SHARED_PHOTOS, help="folder of JPEGs to use")

    @transaction.atomic
    def handle(self, *args, photos: Path, **options) -> None:
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"is_staff": True})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = True
            user.save()
        job = LabelingJob.objects.filter(name=DEMO_JOB).first()
        if job is None:
            dataset, _ = Dataset.objects.get_or_create(name="Demo photos", defaults={"created_by": user})
            if not dataset.images.exists():
                for name, content in demo_photos(photos):
                    image_create(dataset=dataset, path=name, content=content)
            job = job_create(
                name=DEMO_JOB,
                dataset=dataset,
                created_by=user,
                description="Draw polygons around the objects in each photo.",
                label_classes=[{"name": n, "color": c} for n, c in LABEL_CLASSES],
            )
        self.stdout.write(
            f"demo job {job.pk} ({job.items.count()} images); log in as {DEMO_USERNAME} / {DEMO_PASSWORD}"
        )
