"""The tests' clock: CARE_TEST_CLOCK names a moment, the session really starts there, children follow."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zoneinfo

import pytest
from django.utils import timezone

from tests.clock import Clock
from tests.conftest import SESSION_CLOCK, session_start_moment

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("03:00 America/New_York", dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)),  # EST, UTC-5
        ("23:30 Europe/Paris", dt.datetime(2026, 12, 2, 22, 30, tzinfo=dt.UTC)),
        ("2026-03-08T06:59:00+00:00", dt.datetime(2026, 3, 8, 6, 59, tzinfo=dt.UTC)),
    ],
)
def test_the_session_clock_names_a_moment(value: str, expected: dt.datetime) -> None:
    assert session_start_moment(value, today=dt.date(2026, 12, 2)) == expected


def test_a_summer_date_gives_new_york_daylight_time() -> None:
    assert session_start_moment("03:00 America/New_York", today=dt.date(2026, 7, 1)) == dt.datetime(
        2026, 7, 1, 7, 0, tzinfo=dt.UTC
    )


def test_a_moment_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="needs an offset or a time zone"):
        session_start_moment("2026-03-08T06:59:00", today=dt.date(2026, 12, 2))


@pytest.mark.skipif(not SESSION_CLOCK, reason="only under CARE_TEST_CLOCK (CI's second run of the suite)")
def test_the_session_and_its_child_processes_run_on_the_session_clock() -> None:
    started = session_start_moment(SESSION_CLOCK, today=timezone.now().date())
    # The suite takes minutes, not hours: this process is still close to where the session started.
    assert started <= timezone.now() < started + dt.timedelta(hours=1)
    child = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert abs(float(child.stdout) - timezone.now().timestamp()) < 60


def test_the_clock_fixture_stops_and_moves_time(clock: Clock) -> None:
    half_past_one = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)  # the night the clocks go back
    # Compared in UTC: Python's == across zones is always False for a wall time that occurs twice.
    assert clock.at(half_past_one).astimezone(dt.UTC) == timezone.now()
    # An hour of real time later (not wall-clock arithmetic in New York, which would skip the repeated hour).
    assert clock.shift(dt.timedelta(hours=1)) == half_past_one.astimezone(dt.UTC) + dt.timedelta(hours=1)
    assert timezone.now().astimezone(NEW_YORK).utcoffset() == dt.timedelta(hours=-5)
