"""Signals of the datasets app; the labeling app listens (synchronising jobs after an import)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by an import's worker after it added images to a dataset. kwargs: dataset_id, added.
images_imported = Signal()
