"""The tests' own clock, so no outcome depends on the hour the suite happens to run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine


class Clock:
    """The test's own clock: ``clock.at(moment)`` stops time there; ``clock.shift(delta)`` moves it on."""

    def __init__(self) -> None:
        self._traveller: Any = None

    def at(self, moment: dt.datetime) -> dt.datetime:

        if moment.tzinfo is None:
            raise ValueError("clock.at needs an aware datetime")
        self.stop()
        self._traveller = time_machine.travel(moment, tick=False)
        self._traveller.start()
        return moment

    def shift(self, delta: dt.timedelta) -> dt.datetime:
        if self._traveller is None:
            raise RuntimeError("clock.shift before clock.at")
        from django.utils import timezone

        return self.at(timezone.now() + delta)

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = None


# Outside quiet hours for the factories' customers (America/New_York): 10:00 there, 15:00 in London.
DAYTIME_IN_NEW_YORK = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)
