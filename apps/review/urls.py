"""Routes under /api/ for apps.review (included from config/urls.py)."""

from __future__ import annotations

from django.urls import path

from . import api, ground_truth_api, quality_api

urlpatterns = [
    path("jobs/<int:job_id>/assignments/", api.JobAssignments.as_view(), name="job-assignments"),
    path(
        "jobs/<int:job_id>/assignments/split/",
        api.JobAssignmentsSplit.as_view(),
        name="job-assignments-split",
    ),
    path(
        "jobs/<int:job_id>/assignments/history/",
        api.JobAssignmentHistory.as_view(),
        name="job-assignment-history",
    ),
    path("jobs/<int:job_id>/next/", api.JobNext.as_view(), name="job-next"),
    path("jobs/<int:job_id>/presence/", api.JobPresence.as_view(), name="job-presence"),
    path("jobs/<int:job_id>/quality/", quality_api.QualityReport.as_view(), name="job-quality"),
    path("jobs/<int:job_id>/quality/events/", quality_api.QualityEvents.as_view(), name="job-quality-events"),
    path(
        "jobs/<int:job_id>/ground-truth/", ground_truth_api.GroundTruthView.as_view(), name="job-ground-truth"
    ),
    path(
        "jobs/<int:job_id>/ground-truth/copies/",
        ground_truth_api.GroundTruthCopies.as_view(),
        name="job-ground-truth-copies",
    ),
]
