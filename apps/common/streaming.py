"""Streaming a generated response body piece by piece, under WSGI and ASGI alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


async def pulled(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Serve a synchronous generator under ASGI one piece at a time: Django would otherwise read a sync
    iterator to its end (into memory) before sending anything. Each step runs in the request's sync
    thread, where its database connection lives."""
    step = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (chunk := await step()) is not None:
        yield chunk


def streamed(request: Any, chunks: Iterator[bytes]) -> Iterator[bytes] | AsyncIterator[bytes]:
    """The body for a StreamingHttpResponse: `chunks` as they are under WSGI, pulled one by one under
    ASGI. `request` is Django's request or DRF's wrapper of it."""
    django_request = getattr(request, "_request", request)
    return pulled(chunks) if isinstance(django_request, ASGIRequest) else chunks


class FirstRenderer(DefaultContentNegotiation):
    """For views whose body is a file of their own (a zip, JSON Lines): whatever the client's Accept or a
    `?format=` says (DRF would answer 406 or 404), refusals are rendered by the first renderer, JSON."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type
