"""A token bucket that paces a provider's sends to so many messages per second.

The bucket lives in the process: every thread of a worker that sends through the same provider shares it,
but two worker processes each send at the full rate. Run one SMS sending worker per provider account (or
divide SMS_RATE_PER_SECOND by the number of processes) to stay within the provider's own limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Hands out at most ``rate`` tokens per second, with at most ``burst`` saved up while idle.

    ``acquire`` reserves the next token and sleeps until it is due, so concurrent callers queue up in the
    order they asked instead of all waking at once. ``clock`` and ``sleep`` are injected so a test can step
    time without waiting.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("A token bucket needs a rate above 0 and room for at least one token.")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting until it is there; returns how long it waited (seconds)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            # Below zero is a reservation: the token is ours, due once the bucket has refilled to zero.
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


_buckets: dict[tuple[str, float], TokenBucket] = {}
_buckets_lock = threading.Lock()


def shared_bucket(provider: str, *, rate: float) -> TokenBucket:
    """The process's one bucket for ``provider`` at ``rate`` (a changed rate, as in a test, gets its own)."""
    with _buckets_lock:
        bucket = _buckets.get((provider, rate))
        if bucket is None:
            bucket = _buckets[(provider, rate)] = TokenBucket(rate=rate)
        return bucket
