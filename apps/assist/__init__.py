"""Proposals for polygons (docs/assist.md): OpenCV tools in process, a model server over HTTP; never writes."""

from __future__ import annotations


def available_tools() -> list[str]:
    """The tools the labeling page may offer (apps.assist.tools.available_tools)."""
    from .tools import available_tools as tools

    return tools()
