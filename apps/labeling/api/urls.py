from __future__ import annotations

from django.urls import path

from . import audit, imports, overlay, preview, views

urlpatterns = [
    path("jobs/", views.JobList.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", views.JobDetail.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/sync/", views.JobSync.as_view(), name="job-sync"),
    path("jobs/<int:job_id>/members/", views.MemberList.as_view(), name="member-list"),
    path("jobs/<int:job_id>/members/<int:member_id>/", views.MemberDetail.as_view(), name="member-detail"),
    path("jobs/<int:job_id>/label-classes/", views.LabelClassList.as_view(), name="label-class-list"),
    path(
        "jobs/<int:job_id>/label-classes/<int:label_class_id>/",
        views.LabelClassDetail.as_view(),
        name="label-class-detail",
    ),
    path("jobs/<int:job_id>/items/", views.ItemList.as_view(), name="item-list"),
    path("jobs/<int:job_id>/deletions/", views.JobDeletions.as_view(), name="job-deletions"),
    path("jobs/<int:job_id>/activity/", audit.JobActivity.as_view(), name="job-activity"),
    path("jobs/<int:job_id>/integrity/", audit.JobIntegrity.as_view(), name="job-integrity"),
    path("jobs/<int:job_id>/log/", audit.JobLog.as_view(), name="job-log"),
    path("datasets/<int:dataset_id>/imports/", imports.DatasetImports.as_view(), name="dataset-imports"),
    path("imports/<int:import_id>/", imports.ImportDetail.as_view(), name="import-detail"),
    path("items/delete/", views.ItemsDelete.as_view(), name="items-delete"),
    path("items/<int:item_id>/state/", views.ItemStateView.as_view(), name="item-state"),
    path("items/<int:item_id>/overlay.svg", overlay.ItemOverlay.as_view(), name="item-overlay"),
    path("items/<int:item_id>/preview.jpg", preview.ItemPreview.as_view(), name="item-preview"),
    path("items/<int:item_id>/events/", views.ItemEvents.as_view(), name="item-events"),
    path("items/<int:item_id>/commands/", views.ItemCommands.as_view(), name="item-commands"),
    path("items/<int:item_id>/timeline/", audit.ItemTimeline.as_view(), name="item-timeline"),
    path("items/<int:item_id>/diff/", audit.ItemDiff.as_view(), name="item-diff"),
    path("items/<int:item_id>/integrity/", audit.ItemIntegrity.as_view(), name="item-integrity"),
    path("items/<int:item_id>/log/", audit.ItemLog.as_view(), name="item-log"),
]
