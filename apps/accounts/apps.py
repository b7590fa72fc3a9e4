"""Accounts: signing in (the login page, API tokens, the login throttle) on Django's user model."""

from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_save, pre_save

        from apps.accounts.signals import revoke_tokens_on_credential_change, tell_deactivation

        pre_save.connect(
            revoke_tokens_on_credential_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="accounts.revoke_tokens_on_credential_change",
        )
        post_save.connect(
            tell_deactivation,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="accounts.tell_deactivation",
        )
