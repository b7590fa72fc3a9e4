from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "apps.review"
    label = "review"

    def ready(self) -> None:
        """Extend labeling through the hooks it exposes (it imports nothing of review): the items list's
        assignment columns and filter, and the record of who has which image open."""
        from apps.labeling import selectors
        from apps.labeling.signals import item_presence, member_changed

        from .assignments import ITEM_LIST_HOOK, on_item_presence, on_member_changed

        if ITEM_LIST_HOOK not in selectors.item_list_hooks:
            selectors.item_list_hooks.append(ITEM_LIST_HOOK)
        item_presence.connect(on_item_presence, dispatch_uid="review.item_presence")
        member_changed.connect(on_member_changed, dispatch_uid="review.member_changed")
        # The quality counters, written with each command's events (apps/review/quality.py).
        from apps.labeling.store.hooks import row_writer_register

        from . import quality

        row_writer_register(quality.statements)
