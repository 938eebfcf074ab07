"""Throttle clients that keep sending codes that do not exist.

Only failures a guesser produces are counted (malformed, mistyped and unknown codes, see
``Refusal.counts_as_guess``); successes, and refusals of a real voucher (expired, void, used up,
insufficient balance), are not, so a booking system retrying a customer's expired voucher is never locked
out. After ``VOUCHER_FAILED_LOOKUPS_ALLOWED`` failures within ``VOUCHER_FAILED_LOOKUPS_WINDOW`` the client
gets 429 with ``Retry-After`` until the window ends, for validations and redemptions alike.

A client is the API token, else the staff user, else the remote address. The count lives in the Django cache
in a fixed window (one counter per client per window, moved with the cache's atomic ``incr``; on Redis every
web process shares it). A fixed window lets a client reach at most twice the limit across a window boundary,
which does not matter against an 80-bit code space.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from care.models import ApiToken

_KEY = "vouchers:failed-lookups:{client}:{window}"


def _limits() -> tuple[int, int]:
    window = int(settings.VOUCHER_FAILED_LOOKUPS_WINDOW.total_seconds())
    return settings.VOUCHER_FAILED_LOOKUPS_ALLOWED, max(window, 1)


class FailedLookupThrottle(BaseThrottle):
    """Refuses a client whose failures in the current window reached the limit; ``record_failure`` counts."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def client(self, request: Request) -> str:
        if isinstance(request.auth, ApiToken):
            return f"token:{request.auth.pk}"
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "pk", None) is not None:
            return f"user:{user.pk}"
        return f"address:{self.get_ident(request)}"

    def _bucket(self, request: Request) -> tuple[str, float, int]:
        """(cache key, seconds until the window ends, window length)."""
        _, window = _limits()
        now = time.time()
        start = int(now // window) * window
        return _KEY.format(client=self.client(request), window=start), start + window - now, window

    def allow_request(self, request: Request, view: Any) -> bool:
        allowed, _ = _limits()
        key, remaining, _ = self._bucket(request)
        if (cache.get(key) or 0) >= allowed:
            self._wait = remaining
            return False
        return True

    def record_failure(self, request: Request) -> None:
        key, _, window = self._bucket(request)
        # add() then incr(): both atomic on Redis and LocMem, so concurrent failures are all counted.
        cache.add(key, 0, timeout=window + 60)
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=window + 60)

    def wait(self) -> float | None:
        return self._wait
