"""Throttle clients that keep sending codes that do not exist.

Only failures a guesser produces are counted (malformed, mistyped and unknown codes, see
``Refusal.counts_as_guess``); successes, and refusals of a real voucher (expired, void, used up,
insufficient balance), are not, so a booking system retrying a customer's expired voucher is never locked
out. After ``VOUCHER_FAILED_LOOKUPS_ALLOWED`` failures within ``VOUCHER_FAILED_LOOKUPS_WINDOW`` the client
gets 429 with ``Retry-After`` until the window ends, for validations and redemptions alike.

A client is the API token, else the staff user, else the remote address (``care.core.client_ip``). The counts live
in the Django cache in a fixed window: one pair of counters per client per window, named after the window's
start, so a window never slides or restarts; it ends when the clock passes it. On Redis every web process
shares them. A fixed window lets a client reach at most twice the limit across a window boundary, which does
not matter against an 80-bit code space.

How the limit holds under concurrency
-------------------------------------
Whether a lookup fails is known only after it ran, so counting failures afterwards lets guesses sent at the same
moment through together (40 parallel guesses against a limit of 10 got up to 12 answers on LocMem and up to 35
on Redis). Instead each request takes a *slot* before its code is looked up: an atomic ``incr`` of the
``spent`` counter (failures plus lookups in flight), given back at once when that passes the limit. A lookup that
fails keeps its slot: it is the failure. Any other outcome gives the slot back (``decr``) when the response is
ready. So at most ``VOUCHER_FAILED_LOOKUPS_ALLOWED`` codes are ever looked up per client and window, whatever
the timing (tests/test_throttling.py).

The price: a client may have at most (limit - failures so far) lookups in flight at once. A further request
waits for one of them to finish (a booking system's burst of 50 redemptions goes through in waves of 10, in
well under a second) for at most ``VOUCHER_LOOKUP_WAIT``; only then is it refused, with ``Retry-After: 1`` and a
message saying it was the lookups in flight, not failures. A second counter, ``failed``, tells the two apart:
once it reaches the limit every request is refused at once (``Retry-After`` until the window ends), waiting or
not.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from care.core.api.models import ApiToken
from care.core.client_ip import client_ip

logger = logging.getLogger(__name__)

_KEY = "vouchers:failed-lookups:{client}:{window}:{counter}"
# The slot a request holds, kept on the Django request (the DRF request reads through to it).
_SLOT_ATTRIBUTE = "_voucher_lookup_slot"
# Retries when the key vanishes (expired or evicted) between add() and incr().
_ATTEMPTS = 3
# A request waiting for a slot looks again after 5 ms, then 10, 20, 40, 50, 50, … ms.
_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 0.05

LIMIT_MESSAGE = "Too many unknown or mistyped voucher codes from this client; wait and try again."
BUSY_MESSAGE = (
    "Too many voucher lookups from this client are still running; try again in a moment "
    "(a client may have only as many lookups running at once as it has failed lookups left in the window)."
)


@dataclass
class _Slot:
    spent_key: str
    failed_key: str
    timeout: int
    failed: bool = False


def _limits() -> tuple[int, int]:
    window = int(settings.VOUCHER_FAILED_LOOKUPS_WINDOW.total_seconds())
    return settings.VOUCHER_FAILED_LOOKUPS_ALLOWED, max(window, 1)


def _incr(key: str, timeout: int) -> int | None:
    """Add one to ``key`` atomically, creating it when missing; None when the cache keeps losing it."""
    for _ in range(_ATTEMPTS):
        cache.add(key, 0, timeout=timeout)
        try:
            value = cache.incr(key)
        except ValueError:  # expired or evicted between add() and incr(): add it again, never set() over a count
            continue
        if value == 1:
            # Redis's incr is EXISTS then INCR: a key that expired between the two comes back without a TTL.
            cache.touch(key, timeout=timeout)
        return int(value)
    return None


def _decr(key: str) -> None:
    with contextlib.suppress(ValueError):  # gone already (the window ended long ago): nothing to give back
        cache.decr(key)


class FailedLookupThrottle(BaseThrottle):
    """Takes a lookup slot for the request or refuses it; ``record_failure`` keeps the slot as a failure."""

    def __init__(self) -> None:
        self._wait: float | None = None
        self.busy = False

    def client(self, request: Request) -> str:
        if isinstance(request.auth, ApiToken):
            return f"token:{request.auth.pk}"
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "pk", None) is not None:
            return f"user:{user.pk}"
        return f"address:{client_ip(request._request)}"

    def _slot(self, request: Request) -> tuple[_Slot, float]:
        """The request's slot in the current window, and the seconds until the window ends."""
        _, window = _limits()
        now = time.time()
        start = int(now // window) * window
        remaining = start + window - now
        client = self.client(request)
        slot = _Slot(
            spent_key=_KEY.format(client=client, window=start, counter="spent"),
            failed_key=_KEY.format(client=client, window=start, counter="failed"),
            # Outlives the window by a whole window, so a lookup still running when it ends gives its slot back.
            timeout=int(remaining) + window + 1,
        )
        return slot, remaining

    def allow_request(self, request: Request, view: Any) -> bool:
        allowed, _ = _limits()
        # The monotonic clock: a stopped or moved wall clock (a test's) must not make the wait endless.
        deadline = time.monotonic() + settings.VOUCHER_LOOKUP_WAIT.total_seconds()
        pause = _FIRST_PAUSE
        retry = False
        while True:
            slot, remaining = self._slot(request)
            if (cache.get(slot.failed_key) or 0) >= allowed:
                self._wait = remaining
                return False
            # A waiting request only tries for a slot when one looks free, so waiting costs reads, not writes.
            if not retry or (cache.get(slot.spent_key) or 0) < allowed:
                spent = _incr(slot.spent_key, slot.timeout)
                if spent is None:
                    logger.warning("Voucher lookup refused: the cache lost the lookup count %d times.", _ATTEMPTS)
                    self._wait = remaining
                    return False
                if spent <= allowed:
                    setattr(_django_request(request), _SLOT_ATTRIBUTE, slot)
                    return True
                _decr(slot.spent_key)
            if time.monotonic() >= deadline:
                self.busy = True
                self._wait = 1
                return False
            time.sleep(pause)
            pause = min(2 * pause, _LONGEST_PAUSE)
            retry = True

    def record_failure(self, request: Request) -> None:
        """The request's code was a guess: its slot stays taken until the window ends."""
        slot: _Slot | None = getattr(_django_request(request), _SLOT_ATTRIBUTE, None)
        if slot is None:  # called outside FailedLookupThrottledView: no slot was taken, so take one now
            slot, _ = self._slot(request)
            _incr(slot.spent_key, slot.timeout)
            setattr(_django_request(request), _SLOT_ATTRIBUTE, slot)
        if not slot.failed:
            slot.failed = True
            _incr(slot.failed_key, slot.timeout)

    def wait(self) -> float | None:
        return self._wait


def _django_request(request: HttpRequest | Request) -> HttpRequest:
    return request._request if isinstance(request, Request) else request


def lookup_finished(request: HttpRequest | Request) -> None:
    """Give the request's slot back unless its lookup failed. Idempotent; called once the response is ready."""
    django_request = _django_request(request)
    slot: _Slot | None = getattr(django_request, _SLOT_ATTRIBUTE, None)
    if slot is None:
        return
    delattr(django_request, _SLOT_ATTRIBUTE)
    if not slot.failed:
        _decr(slot.spent_key)


class FailedLookupThrottledView(APIView):
    """An API view that looks up voucher codes: throttled per client, its slot given back after every request,
    whatever the outcome (success, refusal, error)."""

    throttle_classes = [FailedLookupThrottle]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            lookup_finished(request)

    def check_throttles(self, request: Request) -> None:
        # DRF's own asks every throttle and reports the longest wait; here the first refusal answers, with a
        # message saying whether the client failed too often or only has too many lookups running.
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                detail = None
                if isinstance(throttle, FailedLookupThrottle):
                    detail = BUSY_MESSAGE if throttle.busy else LIMIT_MESSAGE
                raise exceptions.Throttled(wait=throttle.wait(), detail=detail)
