from __future__ import annotations

from django.urls import path

from .consumers import ItemConsumer, JobConsumer

websocket_urlpatterns = [
    path("ws/items/<int:item_id>/", ItemConsumer.as_asgi()),
    path("ws/jobs/<int:job_id>/", JobConsumer.as_asgi()),
]
