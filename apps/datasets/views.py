"""Serves stored image files to the members of jobs that use them (the embedded default has no
separate file server; with S3, clients get the storage's own URLs)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest

from .models import Image


def _may_read(user, name: str) -> bool:
    images = Image.objects.filter(Q(file=name) | Q(thumbnail=name))
    if not user.is_staff:
        images = images.filter(dataset__jobs__memberships__user=user)
    return images.exists()


@login_required
def media_file(request: HttpRequest, name: str) -> FileResponse:
    # Unknown, unreadable and escaping names all look the same from outside.
    if ".." in name.split("/") or not _may_read(request.user, name) or not default_storage.exists(name):
        raise Http404("No such file.")
    return FileResponse(default_storage.open(name, "rb"))
