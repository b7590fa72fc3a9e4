"""Page-number pagination with a client-chosen page size, bounded."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination


class CountedPaginator(Paginator):
    """Django's paginator told the number of objects (from a read model) instead of counting them."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property: this is its cached value


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def __init__(self, count: int | None = None) -> None:
        """`count`, when the caller knows it, saves the page its COUNT(*)."""
        self.count = count

    def django_paginator_class(self, object_list: Any, per_page: int) -> Paginator:
        if self.count is None:
            return Paginator(object_list, per_page)
        return CountedPaginator(object_list, per_page, count=self.count)
