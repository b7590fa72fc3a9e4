"""Which assist tools this server offers: the OpenCV ones always, the model when a server is configured."""

from __future__ import annotations

from django.conf import settings

CPU_TOOLS = ("scissors", "box", "wand")


def model_configured() -> bool:
    return bool((settings.POLYLOG_ASSIST_MODEL_URL or "").strip())


def available_tools() -> list[str]:
    """["scissors", "box", "wand"], and "model" when POLYLOG_ASSIST_MODEL_URL is set."""
    return [*CPU_TOOLS, *(["model"] if model_configured() else [])]
