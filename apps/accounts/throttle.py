"""Failed logins, counted per username and per client address in Django's cache: past a limit, every login
for that username or from that address is refused, the right password too, until a window has passed."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

CODE = "too_many_attempts"


def client_address(request: Any) -> str:
    """Who is asking: the connection's address, or behind a trusted proxy the one it appended to
    X-Forwarded-For (the last entry; those before it are whatever the client sent, so anyone's).

    IPv6 clients are counted per /64, the block one machine or home usually holds, so that walking
    through one's own addresses does not reset the count."""
    address = ""
    if settings.POLYLOG["BEHIND_PROXY"]:
        address = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
    address = address or request.META.get("REMOTE_ADDR", "")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _key(kind: str, value: str) -> str:
    # Hashed: a username or address is arbitrary text, and cache keys must stay short and plain.
    return f"polylog:login:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    limit: int

    @property
    def locked_key(self) -> str:
        return self.key + ":locked"


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One login attempt's counters: its username's and its client address's."""

    username: Counter
    address: Counter

    @classmethod
    def of(cls, request: Any, username: str) -> LoginAttempt:
        # Normalised as the login forms do (NFKC, no surrounding blanks; the API's serializer strips too),
        # and case-folded: spellings that may reach one account share its count.
        name = unicodedata.normalize("NFKC", username).strip().casefold()
        return cls(
            Counter(_key("user", name), settings.POLYLOG["LOGIN_FAILURES"]),
            Counter(_key("addr", client_address(request)), settings.POLYLOG["LOGIN_FAILURES_PER_ADDRESS"]),
        )

    def retry_after(self) -> int:
        """Seconds until a login may be tried again; 0 when it may be now."""
        locked = cache.get_many([self.username.locked_key, self.address.locked_key])
        until = max(locked.values(), default=0.0)
        return max(math.ceil(until - time.time()), 0)

    def failed(self) -> None:
        """Count a wrong password. A counter that reaches its limit locks for a whole window from now."""
        window = settings.POLYLOG["LOGIN_WINDOW_SECONDS"]
        for counter in (self.username, self.address):
            cache.add(counter.key, 0, timeout=window)  # the window opens at the first failure
            try:
                failures = cache.incr(counter.key)
            except ValueError:  # the window closed between add and incr
                cache.set(counter.key, 1, timeout=window)
                failures = 1
            if failures >= counter.limit:
                cache.set(counter.locked_key, time.time() + window, timeout=window)
                cache.delete(counter.key)

    def succeeded(self) -> None:
        """The right password: the username's earlier mistakes are forgiven. The address's count stays,
        or one valid account would let a client guess at every other one without limit."""
        cache.delete(self.username.key)


def refusal_message(retry_after: int) -> str:
    minutes = math.ceil(retry_after / 60)
    wait = f"{minutes} minutes" if minutes > 1 else "a minute"
    return f"Too many failed logins for this username or from this address. Try again in {wait}."
