"""Signals of the datasets app; the labeling app listens (synchronising jobs after an import)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by an import's worker inside the transaction that registers a batch of new images, so that what
# depends on them is written with them (the jobs' items). kwargs: dataset_id, image_ids.
images_registered = Signal()

# Sent by an import's worker after it added images to a dataset. kwargs: dataset_id, added, first_image_id
# (the least id the import gave an image, or None where that is not known: every image counts then).
images_imported = Signal()

# Sent after a thumbnail task stored thumbnails of images that had none. kwargs: dataset_id, image_ids.
thumbnails_made = Signal()
