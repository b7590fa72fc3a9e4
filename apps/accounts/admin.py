"""Admin's user pages: Django's own, telling who deactivated a user (apps.accounts.signals)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.accounts.signals import DEACTIVATED_BY


class UserAdmin(DjangoUserAdmin):
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        # Unchecking "Active" empties the person's seats in every job (user_deactivated), recorded as
        # changed by this admin user, as a removal from a job is by who removed them.
        setattr(obj, DEACTIVATED_BY, request.user)
        super().save_model(request, obj, form, change)


User = get_user_model()
if admin.site.is_registered(User):  # django.contrib.auth's registration, before this app's
    admin.site.unregister(User)
admin.site.register(User, UserAdmin)
