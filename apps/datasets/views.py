"""Serves stored image files to the members of jobs that use them (the embedded default has no
separate file server; with S3, clients get the storage's own URLs).

A file is served as the image format its bytes begin with, never as its name suggests: files stored before
names carried their format may be called anything (`y.html`), and a file whose bytes are in none of the
image formats is only offered for download. Every answer, redirects and 404s too, forbids the browser to
sniff another type and, should it still read the file as a page, to run anything in it.

Behind nginx (docs/deploy.md), POLYLOG_MEDIA_ACCEL_PREFIX makes the view answer, once it has checked who
asks, with an empty response naming the file in `X-Accel-Redirect` (under that prefix, an `internal` nginx
location) and carrying every header the file is to be sent with: nginx sends the bytes, Django no longer
streams them. With S3 storage the answer also carries the object's signed URL in X-Polylog-Media-Url, which
nginx fetches itself (proxy_pass); nginx never sends that header on.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils.http import content_disposition_header

from .models import Image
from .services import SNIFF_BYTES, ImageFormat, sniff, with_extension

# Nothing may load or run, in an opaque origin. Chromium's own view of an image opened by itself loses its
# inline style to it (the image shows, unstyled): a small price for a policy with no exception.
MEDIA_POLICY = "default-src 'none'; sandbox"


def _media_headers(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def answer(request: HttpRequest, name: str) -> HttpResponse:
        try:
            response = view(request, name)
        except Http404:
            response = HttpResponseNotFound("No such file.", content_type="text/plain; charset=utf-8")
        response["Content-Security-Policy"] = MEDIA_POLICY
        response["X-Content-Type-Options"] = "nosniff"
        return response

    return answer


def _may_read(user, name: str) -> bool:
    images = Image.objects.filter(Q(file=name) | Q(thumbnail=name))
    if not user.is_staff:
        images = images.filter(dataset__jobs__memberships__user=user)
    return images.exists()


@_media_headers
@login_required
def media_file(request: HttpRequest, name: str) -> HttpResponse:
    # Unknown, unreadable and escaping names all look the same from outside.
    if ".." in name.split("/") or not _may_read(request.user, name) or not default_storage.exists(name):
        raise Http404("No such file.")
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:  # gone since, or a file registered in place swapped for a symlink (storage.py)
        raise Http404("No such file.") from None
    image_format = sniff(handle.read(SNIFF_BYTES))
    base = posixpath.basename(name)
    prefix = settings.POLYLOG["MEDIA_ACCEL_PREFIX"]
    if prefix:
        handle.close()
        return _accel_redirect(prefix, name, base, image_format)
    handle.seek(0)
    if image_format is None:
        return FileResponse(
            handle, as_attachment=True, filename=base, content_type="application/octet-stream"
        )
    return FileResponse(
        handle, filename=with_extension(base, image_format), content_type=image_format.content_type
    )


def _accel_redirect(prefix: str, name: str, base: str, image_format: ImageFormat | None) -> HttpResponse:
    if image_format is None:
        return accel_redirect(prefix, name, "application/octet-stream", attachment=True, filename=base)
    filename = with_extension(base, image_format)
    return accel_redirect(prefix, name, image_format.content_type, attachment=False, filename=filename)


def accel_redirect(
    prefix: str, name: str, content_type: str, *, attachment: bool, filename: str
) -> HttpResponse:
    """The answer that hands stored file `name` to nginx: no body, the headers it is to be sent with. nginx
    keeps Content-Type and Content-Disposition of this answer by itself; the location copies the security
    headers from it (deploy/nginx.conf.template). Export downloads are handed over the same way."""
    response = HttpResponse(content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    # Percent-encoded: nginx decodes the header's path before it looks the file up.
    response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(name)
    if not isinstance(default_storage, FileSystemStorage):
        response["X-Polylog-Media-Url"] = default_storage.url(name)
    return response
