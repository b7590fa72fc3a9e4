"""Server-rendered page shells; the labeling UI itself arrives with its own issue."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.labeling.selectors import job_list


def home(request: HttpRequest) -> HttpResponse:
    jobs = job_list(user=request.user) if request.user.is_authenticated else []
    return render(request, "home.html", {"jobs": jobs})
