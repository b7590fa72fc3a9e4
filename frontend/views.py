"""Server-rendered page shells: each page gets what it needs to start as JSON, its ES modules do the rest."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.assist import available_tools
from apps.common.errors import ApiError
from apps.labeling.api.preview import preview_of
from apps.labeling.api.serializers import JobSerializer
from apps.labeling.models import JobType
from apps.labeling.permissions import item_for, job_for
from apps.labeling.selectors import job_list


def not_found(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The styled 404 with a way back, DEBUG or not: a job or image that is not there (or not the
    person's to see) is an everyday answer of these pages, not a developer's error."""
    return render(request, "404.html", {"reason": reason}, status=404)


def favicon(request: HttpRequest) -> HttpResponse:  # noqa: ARG001
    """/favicon.ico, which browsers ask for on their own: the page's SVG icon."""
    return redirect(static("polylog/favicon.svg"), permanent=True)


def _user(request: HttpRequest) -> dict[str, Any]:
    return {"id": request.user.pk, "username": request.user.get_username(), "is_staff": request.user.is_staff}


def _job_view(request: HttpRequest, job_id: int, role: str) -> dict[str, Any]:
    job = job_list(user=request.user).get(pk=job_id)
    return JobSerializer(job, context={"roles": {job.pk: role}}).data


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "home.html", {"jobs": []})
    jobs = list(job_list(user=request.user).order_by("-created_at", "-id"))
    job_type = request.GET.get("type", "")
    if job_type:
        jobs = [job for job in jobs if job.job_type == job_type]
    can_create = request.user.is_staff or request.user.has_perm("labeling.add_labelingjob")
    boot = {"user": _user(request), "can_create": can_create, "job_types": JobType.choices}
    return render(
        request,
        "home.html",
        {
            "jobs": jobs,
            "job_types": JobType.choices,
            "job_type": job_type,
            "can_create": can_create,
            "boot": boot,
        },
    )


@login_required
@ensure_csrf_cookie
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job, role = job_for(request.user, job_id)
    except ApiError as error:
        return not_found(request, error.message)
    boot = {
        "user": _user(request),
        "job": _job_view(request, job.pk, role),
        # From this many selected images the export is made on the queue (docs/api.md, "Large exports").
        "export_queue_items": settings.POLYLOG["EXPORT_QUEUE_ITEMS"],
    }
    return render(request, "job.html", {"job": job, "boot": boot})


def _item_page(request: HttpRequest, item_id: int, template: str) -> HttpResponse:
    """A page of one item (labeling, replay): the item and its job for the page's script, members only."""
    try:
        item, role = item_for(request.user, item_id)
    except ApiError as error:
        return not_found(request, error.message)
    image = item.image
    boot = {
        "user": _user(request),
        "job": _job_view(request, item.job_id, role),
        # How far outside the image (screen pixels) a vertex still lands on its border (docs/ui.md).
        "clamp_tolerance_px": settings.POLYLOG["CLAMP_TOLERANCE_PX"],
        "item": {
            "id": item.pk,
            "status": item.status,
            "deleted": item.deleted_at is not None,
            "image": {
                "name": image.name,
                "path": image.path,
                "width": image.width,
                "height": image.height,
                "url": image.file.url if image.file else None,
                # The image at a screen's size, {url, side}, drawn while zoomed out (None when no bigger).
                "preview": preview_of(image, item.pk),
            },
        },
    }
    # The assisted tools this server offers (docs/ui.md, "Assisted outlines"): the model only when configured.
    boot["assist_tools"] = available_tools()
    return render(request, template, {"item": item, "boot": boot, "assist_tools": boot["assist_tools"]})


@login_required
@ensure_csrf_cookie
def item_label(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_page(request, item_id, "label.html")


@login_required
@ensure_csrf_cookie
def item_replay(request: HttpRequest, item_id: int) -> HttpResponse:
    """The replay of one item's events, for auditors (and anyone who may read the job)."""
    return _item_page(request, item_id, "replay.html")
