"""First-start set-up run by `make run`: the demo scenario and the demo logins, both only once."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from care.core.errors import DomainError
from care.operations.demo import DEMO_REFERENCES, demo_bootstrap
from incidents.management.commands.load_demo import summary_lines


class Command(BaseCommand):
    help = "Load the demo scenario and create the demo logins if missing, then print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        logins_file = settings.DEMO_LOGINS_FILE
        try:
            result = demo_bootstrap(logins_file=logins_file)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        if result.loaded is None:
            self.stdout.write(f"Demo scenario already loaded ({DEMO_REFERENCES[0]} … {DEMO_REFERENCES[-1]}).")
        else:
            self.stdout.write(
                self.style.SUCCESS("Demo scenario loaded: the New York blizzard of 8 and 9 February 2013")
            )
            self.stdout.write("\n".join(summary_lines(result.loaded)))
        # Honcho and the Procfile start the web process on $PORT, 8000 unless set.
        site = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        width = max(len(login.username) for login in result.logins)
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Coordinators: {site}/admin/ · frontline reps: {site}/briefings/ · API docs: {site}/api/v1/docs/"
            )
        )
        self.stdout.write(self.style.SUCCESS("Sign in as:"))
        for login in result.logins:
            secret = login.password if login.password is not None else f"({login.note})"
            purpose = f": {login.purpose}" if login.purpose else ""
            self.stdout.write(f"  {login.username:<{width}}  {secret}   {login.group}{purpose}")
        self.stdout.write(f"The passwords are kept in {logins_file} (readable by you only).")
        self.stdout.write("")
