"""The failed-lookup throttle on voucher codes counts atomically (issue 11).

Before, the throttle read the count when a request came in and added the failure after the lookup, so guesses
sent together all read the same count and got through. Now a request takes a slot with the cache's atomic
``incr`` before its code is looked up, and gives it back unless the code turned out to be a guess: however many
guesses arrive at once, at most ``VOUCHER_FAILED_LOOKUPS_ALLOWED`` are looked up per window.

Run on LocMem (the tests' and development cache) and on a real Redis (production's ``CACHE_URL``); the Redis
cases are skipped with a message when Redis is not reachable locally, and fail under CI=true.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from care.core.api.models import ApiToken
from care.core.api.tokens import api_token_create
from tests.conftest import redis_or_skip
from tests.factories_redemption import redeemable_voucher
from tests.sweep_harness import run_threads
from vouchers import codes, throttling
from vouchers.throttling import LIMIT_MESSAGE, FailedLookupThrottle, lookup_finished

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
VALIDATE = "/api/v1/vouchers/validate"
GUESSES = 40
ALLOWED = 10
# 30 s into a 10-minute window (14:00 to 14:10): every test pins the clock, so no window ends mid-test.
MOMENT = dt.datetime(2026, 6, 10, 14, 0, 30, tzinfo=dt.UTC)
WINDOW_LEFT = 570


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """The default cache for the test: a private LocMem, or a real Redis under a key prefix of its own."""
    settings.VOUCHER_FAILED_LOOKUPS_ALLOWED = ALLOWED
    settings.VOUCHER_FAILED_LOOKUPS_WINDOW = dt.timedelta(minutes=10)
    prefix = f"test-throttling-{uuid.uuid4().hex}"
    if request.param == "redis":
        redis_or_skip(REDIS_URL)
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": prefix,
            }
        }
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}}
    try:
        yield request.param
    finally:
        if request.param == "redis":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(f"{prefix}:*"))
            if keys:
                client.delete(*keys)
        else:
            cache.clear()


def redis_counts(*, prefix: str) -> dict[str, int]:
    """The throttle's counters as Redis holds them ("spent", "failed"): proof the Redis case ran on Redis.
    Every one expires (a counter without a TTL would outlive its window in Redis for ever)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    assert all(client.ttl(key) > 0 for key in keys)
    return {key.decode().rsplit(":", 1)[1]: int(client.get(key) or 0) for key in keys}


def cache_prefix() -> str:
    from django.conf import settings

    return str(settings.CACHES["default"].get("KEY_PREFIX", ""))


def counter(name: str, address: str = "203.0.113.7") -> int | None:
    """The throttle's "spent" or "failed" counter for an address in MOMENT's window, read through the cache."""
    window = int(dt.timedelta(minutes=10).total_seconds())
    start = int(MOMENT.timestamp() // window) * window
    return cache.get(throttling._KEY.format(client=f"address:{address}", window=start, counter=name))


def guesser_request(address: str = "203.0.113.7") -> Request:
    """A request as the throttle sees it from an anonymous client (no database needed)."""
    return Request(APIRequestFactory().post(VALIDATE, REMOTE_ADDR=address))


def lookup(*, fails: bool, address: str = "203.0.113.7") -> FailedLookupThrottle | None:
    """One whole request: the throttle's decision, the lookup's outcome, the end of the request.
    None when the request got through, else the throttle that refused it."""
    request = guesser_request(address)
    throttle = FailedLookupThrottle()
    if not throttle.allow_request(request, view=None):
        return throttle
    if fails:
        throttle.record_failure(request)
    lookup_finished(request)
    return None


# --- The throttle itself, with real threads (no database) ----------------------------------------------------
def test_forty_guesses_in_flight_together_let_exactly_ten_through(cache_backend: str) -> None:
    """The worst timing for a count-afterwards throttle: no lookup finishes before every guess has asked to be let
    in. The old throttle let all 40 in here (each read a count of 0); slots let in exactly 10, and the others,
    waiting for a slot, are refused as soon as the ten have failed."""
    outcomes: list[tuple[bool, bool, float | None]] = []
    lock = threading.Lock()
    asked = [0]
    everyone_asked = threading.Event()

    def guess() -> None:
        request = guesser_request()
        throttle = FailedLookupThrottle()
        with lock:
            asked[0] += 1
            if asked[0] == GUESSES:
                everyone_asked.set()
        admitted = throttle.allow_request(request, view=None)
        if admitted:
            assert everyone_asked.wait(timeout=30)
            throttle.record_failure(request)  # an unknown code
        lookup_finished(request)
        with lock:
            outcomes.append((admitted, throttle.busy, throttle.wait()))

    with time_machine.travel(MOMENT, tick=False):
        assert run_threads([guess] * GUESSES) == []
        admitted = [outcome for outcome in outcomes if outcome[0]]
        refused = [outcome for outcome in outcomes if not outcome[0]]
        print(
            f"\n{GUESSES} guesses in flight together ({cache_backend}): {len(admitted)} through, {len(refused)} refused"
        )
        assert (len(admitted), len(refused)) == (ALLOWED, GUESSES - ALLOWED)
        # Refused for the ten failures (not for waiting too long): until the window ends.
        assert {(busy, wait) for _, busy, wait in refused} == {(False, WINDOW_LEFT)}
        assert (counter("spent"), counter("failed")) == (ALLOWED, ALLOWED)
        if cache_backend == "redis":
            assert redis_counts(prefix=cache_prefix()) == {"spent": ALLOWED, "failed": ALLOWED}


def test_a_lookup_waits_for_its_clients_lookups_in_flight(cache_backend: str, settings: Any) -> None:
    """The price of counting before the lookup: a client runs only as many lookups at once as it has failures
    left. One more waits for a slot rather than being refused, and is refused (told to retry in a second) only
    when none frees in time."""
    with time_machine.travel(MOMENT, tick=False):
        running = [guesser_request() for _ in range(ALLOWED)]
        assert all(FailedLookupThrottle().allow_request(request, view=None) for request in running)

        settings.VOUCHER_LOOKUP_WAIT = dt.timedelta(seconds=0.2)
        busy = lookup(fails=False)
        assert busy is not None
        assert (busy.busy, busy.wait()) == (True, 1)

        settings.VOUCHER_LOOKUP_WAIT = dt.timedelta(seconds=30)
        waited: list[FailedLookupThrottle | None] = []
        waiting = threading.Thread(target=lambda: waited.append(lookup(fails=False)))
        waiting.start()
        waiting.join(timeout=0.3)
        assert waiting.is_alive()  # still waiting: every slot is taken
        lookup_finished(running[0])  # that one found a real voucher: its slot is free again
        waiting.join(timeout=30)
        assert waited == [None]

        for request in running[1:]:
            lookup_finished(request)
            lookup_finished(request)  # a second call gives nothing back twice
        assert counter("spent") == 0
        assert [lookup(fails=False) for _ in range(3 * ALLOWED)] == [None] * (3 * ALLOWED)
        assert [lookup(fails=True) for _ in range(ALLOWED)] == [None] * ALLOWED
        refused = lookup(fails=False)
        assert refused is not None
        assert (refused.busy, refused.wait()) == (False, WINDOW_LEFT)


def test_the_window_is_fixed_and_ends_on_time(cache_backend: str) -> None:
    """A failure late in the window neither extends nor restarts it; at 14:10 the client starts afresh."""
    with time_machine.travel(MOMENT, tick=False) as traveller:
        assert [lookup(fails=True) for _ in range(ALLOWED - 1)] == [None] * (ALLOWED - 1)
        traveller.move_to(dt.datetime(2026, 6, 10, 14, 9, 59, tzinfo=dt.UTC), tick=False)
        assert lookup(fails=True) is None  # the tenth
        refused = lookup(fails=True)
        assert refused is not None
        assert (refused.busy, refused.wait()) == (False, 1)
        assert lookup(fails=True, address="198.51.100.1") is None  # another client has its own count
        traveller.move_to(dt.datetime(2026, 6, 10, 14, 10, tzinfo=dt.UTC), tick=False)
        assert [lookup(fails=True) for _ in range(ALLOWED)] == [None] * ALLOWED
        assert lookup(fails=True) is not None


class CounterLosingCache(LocMemCache):
    """A LocMem that loses every new counter between ``add()`` and the first ``incr()``, as a cache that evicts
    or expires keys can."""

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        self.lost: set[str] = set()

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        if key not in self.lost:
            self.lost.add(key)
            self.delete(key, version=version)
        return super().incr(key, delta, version)


def test_a_counter_lost_between_add_and_incr_is_added_again(settings: Any) -> None:
    settings.VOUCHER_FAILED_LOOKUPS_ALLOWED = 2
    settings.CACHES = {
        "default": {"BACKEND": f"{__name__}.CounterLosingCache", "LOCATION": f"losing-{uuid.uuid4().hex}"}
    }
    with time_machine.travel(MOMENT, tick=False):
        assert [lookup(fails=True), lookup(fails=True)] == [None, None]
        refused = lookup(fails=True)
        assert refused is not None
        assert (refused.busy, refused.wait()) == (False, WINDOW_LEFT)
        assert (counter("spent"), counter("failed")) == (2, 2)
    cache.clear()


def test_a_cache_that_keeps_nothing_refuses_rather_than_lets_guesses_through(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with time_machine.travel(MOMENT, tick=False):
        assert lookup(fails=True) is not None


# --- Through the API, on PostgreSQL -----------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_forty_parallel_unknown_codes_get_ten_404s_and_thirty_429s(cache_backend: str) -> None:
    with time_machine.travel(MOMENT, tick=False):
        token, raw = api_token_create(name="Booking engine", scopes=["redeem"])
        # Used just now: no request writes last_used_at, so the threads only read the database.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=MOMENT)
        answers: list[tuple[int, dict[str, Any], str | None]] = []
        lock = threading.Lock()

        def guess() -> None:
            response = Client().post(
                VALIDATE,
                json.dumps({"code": codes.generate_code()}),
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}"},
            )
            with lock:
                answers.append((response.status_code, response.json(), response.headers.get("Retry-After")))

        assert run_threads([guess] * GUESSES) == []

        statuses = Counter(status for status, _, _ in answers)
        print(f"\n{GUESSES} parallel unknown codes ({cache_backend}): {dict(statuses)}")
        assert statuses == {404: ALLOWED, 429: GUESSES - ALLOWED}
        assert all(body["code"] == "code_unknown" for status, body, _ in answers if status == 404)
        assert all(body["code"] == "throttled" for status, body, _ in answers if status == 429)
        if cache_backend == "redis":
            assert redis_counts(prefix=cache_prefix()) == {"spent": ALLOWED, "failed": ALLOWED}

        # The limit is reached: a real code waits too, until the window ends.
        voucher = redeemable_voucher()
        late = Client().post(
            VALIDATE,
            json.dumps({"code": voucher.code}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert late.status_code == 429
        assert late.json()["message"].startswith(LIMIT_MESSAGE)
        assert late["Retry-After"] == str(WINDOW_LEFT)

    with time_machine.travel(MOMENT + dt.timedelta(seconds=WINDOW_LEFT), tick=False):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        fresh = Client().post(
            VALIDATE,
            json.dumps({"code": voucher.code}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert fresh.status_code == 200, fresh.json()
