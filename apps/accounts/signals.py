"""A user's API tokens end with a password change or a deactivation, whatever saves it: admin, a form,
`manage.py changepassword`, or code calling set_password() and save(); a deactivation is also told to
the apps that give people work (user_deactivated)."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from apps.accounts.tokens import user_tokens_revoke

WATCHED_FIELDS = {"password", "is_active"}

# Sent after a save that turned a user's is_active from True to False (Django admin's "Active" box, a
# script): apps/labeling empties the seats they hold in every job, as a removal does (docs/review.md,
# "Assignments"). Sent after the save, inside its transaction when there is one (admin's). kwargs:
# user_id, by (who deactivated them: admin's user; None when not known, as from a script). Saves
# through QuerySet.update() send no signal and are not seen.
user_deactivated = Signal()

# Set on the user being saved: by the pre_save below when the save deactivates them (post_save sends
# user_deactivated then); by admin's user page to say who (apps/accounts/admin.py).
DEACTIVATING = "_polylog_deactivating"
DEACTIVATED_BY = "_polylog_deactivated_by"


def _is_password_rehash(user: Any, update_fields: Any) -> bool:
    # At a successful login Django re-hashes a password whose hasher is outdated, saving the password
    # alone after clearing the raw password that set_password() keeps until the next save: the same
    # password, so no reason to log anyone out. A real change through set_password() still holds it here.
    return update_fields is not None and set(update_fields) == {"password"} and user._password is None


def revoke_tokens_on_credential_change(
    sender: Any, instance: Any, raw: bool, update_fields: Any, **kwargs: Any
) -> None:
    """pre_save of the user model: compares the stored password hash and is_active with the ones about to
    be saved (one query, only for saves that may change them)."""
    if raw or instance._state.adding:
        return
    if update_fields is not None and not WATCHED_FIELDS & set(update_fields):
        return  # e.g. the last_login stamp of every login
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", "is_active").first()
    if stored is None:
        return
    password, was_active = stored
    password_changed = instance.password != password and not _is_password_rehash(instance, update_fields)
    deactivating = was_active and not instance.is_active
    if password_changed or deactivating:
        # Before the save rather than after it: should the save fail, the user only has to log in again.
        user_tokens_revoke(user_id=instance.pk)
    if deactivating:
        setattr(instance, DEACTIVATING, True)


def tell_deactivation(sender: Any, instance: Any, raw: bool, **kwargs: Any) -> None:
    """post_save of the user model: user_deactivated, once the row says is_active False (a save that
    fails sends nothing)."""
    deactivated, by = instance.__dict__.pop(DEACTIVATING, False), instance.__dict__.pop(DEACTIVATED_BY, None)
    if deactivated and not raw:
        user_deactivated.send(sender=sender, user_id=instance.pk, by=by)
