"""Accounts use Django's user model and django-rest-knox's tokens (apps/accounts/tokens.py); no models of
their own."""
