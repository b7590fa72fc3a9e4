"""The Quality page (/jobs/<id>/quality/): a shell that its script (frontend/static/polylog/quality.js)
fills from GET /api/jobs/<id>/quality/ and the figures' events lists. Every member of the job sees it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.common.errors import ApiError
from apps.labeling.permissions import job_for


@login_required
@ensure_csrf_cookie
def job_quality(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job, role = job_for(request.user, job_id)
    except ApiError as error:
        return render(request, "404.html", {"reason": error.message}, status=404)
    boot = {
        "user": {"id": request.user.pk, "username": request.user.get_username()},
        "job": {"id": job.pk, "name": job.name, "role": role},
        "idle_gap_seconds": settings.POLYLOG["QUALITY_IDLE_GAP_SECONDS"],
    }
    return render(request, "quality.html", {"job": job, "boot": boot})
