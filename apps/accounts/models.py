"""Accounts use Django's user model and DRF tokens; nothing of their own yet."""
