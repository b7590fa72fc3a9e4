"""The login page (and admin's login form): Django's, with failed logins throttled (apps/accounts/throttle.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse

from apps.accounts.throttle import CODE, LoginAttempt, refusal_message


class LoginForm(AuthenticationForm):
    """Refuses a throttled username or address before the password is looked at; counts wrong ones."""

    retry_after = 0

    def clean(self) -> dict[str, Any]:
        attempt = LoginAttempt.of(self.request, self.cleaned_data.get("username") or "")
        self.retry_after = attempt.retry_after()
        if self.retry_after:
            raise ValidationError(refusal_message(self.retry_after), code=CODE)
        try:
            cleaned = super().clean()
        except ValidationError as error:
            # Only a wrong password counts: a right one refused afterwards (admin's staff check) is none.
            if self.user_cache is None and error.code == "invalid_login":
                attempt.failed()
            raise
        if self.user_cache is not None:
            attempt.succeeded()
        return cleaned


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """Admin's login page shows the refusal as a form error (with its own 200): it is for staff, who read it."""


class LoginView(auth_views.LoginView):
    """A throttled login answers 429 with Retry-After, and the page says when to try again."""

    form_class = LoginForm
    template_name = "login.html"

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.retry_after:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response
