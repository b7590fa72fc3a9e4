"""Serves stored image files to signed-in users (the embedded default has no separate file server)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.utils._os import safe_join


@login_required
def media_file(request: HttpRequest, name: str) -> FileResponse | HttpResponseRedirect:
    try:
        safe_join("/", name)  # refuses names that climb out of the storage root
    except Exception:
        raise Http404("No such file.") from None
    if not default_storage.exists(name):
        raise Http404("No such file.")
    return FileResponse(default_storage.open(name, "rb"))
