"""Routes under /api/ for apps.assist (included from config/urls.py)."""

from __future__ import annotations

from django.urls import path

from .api import ItemAssistBox, ItemAssistBoxPrepare, ItemAssistScissors, ItemAssistWand
from .model_api import ItemAssistModel

urlpatterns = [
    path("items/<int:item_id>/assist/scissors/", ItemAssistScissors.as_view(), name="item-assist-scissors"),
    path("items/<int:item_id>/assist/box/", ItemAssistBox.as_view(), name="item-assist-box"),
    path(
        "items/<int:item_id>/assist/box/prepare/",
        ItemAssistBoxPrepare.as_view(),
        name="item-assist-box-prepare",
    ),
    path("items/<int:item_id>/assist/wand/", ItemAssistWand.as_view(), name="item-assist-wand"),
    path("items/<int:item_id>/assist/model/", ItemAssistModel.as_view(), name="item-assist-model"),
]
