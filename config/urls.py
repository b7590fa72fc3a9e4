from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from apps.accounts.api import TokenObtain
from apps.accounts.views import AdminLoginForm, LoginView
from apps.common.errors import api_not_found
from apps.datasets.api import DatasetList
from apps.datasets.views import media_file
from apps.interchange.api import ExportDetail, ExportDownload, JobExport
from apps.labeling.api.asyncapi import AsyncApiView
from apps.ops import health
from apps.ops import metrics as ops_metrics
from apps.review.quality_page import job_quality
from frontend import views as frontend

# Admin's login form counts and throttles failed logins as the login page does (apps/accounts/throttle.py).
admin.site.login_form = AdminLoginForm

api = [
    path("auth/token/", TokenObtain.as_view(), name="auth-token"),
    path("datasets/", DatasetList.as_view(), name="dataset-list"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("asyncapi.json", AsyncApiView.as_view(), name="asyncapi"),
    path("jobs/<int:job_id>/export/", JobExport.as_view(), name="job-export"),
    path("exports/<int:export_id>/", ExportDetail.as_view(), name="export-detail"),
    path("exports/<int:export_id>/download/", ExportDownload.as_view(), name="export-download"),
    path("", include("apps.assist.urls")),
    path("", include("apps.review.urls")),
    path("", include("apps.labeling.api.urls")),
    # Any character, newlines too (a bare `.` would let a path with %0A fall through to Django's HTML 404).
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]

urlpatterns = [
    path("", frontend.home, name="home"),
    path("jobs/<int:job_id>/", frontend.job_detail, name="job-page"),
    path("jobs/<int:job_id>/quality/", job_quality, name="job-quality-page"),
    path("items/<int:item_id>/", frontend.item_label, name="item-page"),
    path("items/<int:item_id>/replay/", frontend.item_replay, name="item-replay"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("media/<path:name>", media_file, name="media"),
    path("favicon.ico", frontend.favicon),
    # For load balancers and monitoring (docs/operations.md): the two checks are public, metrics guarded.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", ops_metrics.metrics, name="metrics"),
]
handler500 = "apps.common.errors.server_error"
