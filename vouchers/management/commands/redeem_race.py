"""Show, against a running server, that a voucher is redeemed exactly once however many tills try at once.

    .venv/bin/python manage.py redeem_race                       # an issued demo voucher, 50 requests
    .venv/bin/python manage.py redeem_race --code 7K3M-… --url http://127.0.0.1:8000 --concurrency 50

Every request is a real HTTP POST to /api/v1/vouchers/redeem with its own idempotency key (50 different
tills, not one till retrying), released together by a barrier; a till whose connection fails retries
with its key. Without --token a short-lived token with the
``redeem`` scope is created for the run and revoked afterwards. Prints the answers by status and code.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from care.core.actors import SystemActor
from care.core.api.tokens import api_token_create, api_tokens_revoke
from vouchers.codes import normalise
from vouchers.models import Voucher, VoucherStatus

COMMAND = SystemActor("command: redeem_race")


class Command(BaseCommand):
    help = "Fire concurrent redemptions of one voucher at a running server and count the answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The running server.")
        parser.add_argument("--code", help="The voucher code (default: an issued, unredeemed voucher).")
        parser.add_argument("--token", help="An API token with the redeem scope (default: a temporary one).")
        parser.add_argument("--concurrency", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        voucher = self._voucher(options["code"])
        concurrency = max(2, min(int(options["concurrency"]), 200))
        token_id = None
        raw = options["token"]
        if not raw:
            token, raw = api_token_create(name="redeem_race demo (temporary)", scopes=["redeem"], created_by=COMMAND)
            token_id = token.pk
        try:
            answers = self._race(options["url"].rstrip("/"), raw, voucher, concurrency)
        finally:
            if token_id is not None:
                api_tokens_revoke(token_ids=[token_id], actor=COMMAND)
        voucher.refresh_from_db()
        worth = f"{voucher.amount} {voucher.currency}"
        self.stdout.write(f"Voucher {voucher.code} worth {worth}: {concurrency} tills at once")
        for (status, code), count in sorted(answers.items()):
            self.stdout.write(f"  {count:>3} x HTTP {status} {code}")
        self.stdout.write(
            f"Now: status {voucher.status}, redeemed {voucher.redeemed_amount} of {voucher.amount}, "
            f"{voucher.redemptions.count()} redemption row(s)."
        )

    def _voucher(self, code: str | None) -> Voucher:
        if code:
            voucher = Voucher.objects.filter(code=normalise(code)).first()
            if voucher is None:
                raise CommandError("No voucher has that code.")
            return voucher
        voucher = Voucher.objects.filter(status=VoucherStatus.ISSUED, redeemed_amount=0).order_by("pk").first()
        if voucher is None:
            raise CommandError("No issued voucher to redeem: approve and issue an incident's vouchers first.")
        return voucher

    def _race(self, url: str, raw: str, voucher: Voucher, concurrency: int) -> Counter[tuple[int, str]]:
        barrier = threading.Barrier(concurrency)
        answers: Counter[tuple[int, str]] = Counter()
        lock = threading.Lock()
        body = json.dumps(
            {
                "code": voucher.code,
                "amount": f"{voucher.amount - voucher.redeemed_amount:.2f}",
                "currency": voucher.currency,
            }
        ).encode()

        def till() -> None:
            # A till that loses its connection retries with the same idempotency key, as a booking system
            # should: the retry is answered, never redeemed a second time. (The development server accepts
            # only a few connections at once, so some requests of the first wave are refused at connect.)
            key = str(uuid.uuid4())
            barrier.wait()
            for attempt in range(5):
                request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own server
                    f"{url}/api/v1/vouchers/redeem",
                    data=body,
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {raw}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": key,
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                        status, code = response.status, "redeemed"
                except urllib.error.HTTPError as error:
                    status, code = error.code, json.loads(error.read() or b"{}").get("code", "?")
                except OSError as error:
                    status, code = 0, type(error).__name__
                    time.sleep(0.2 * (attempt + 1))
                    continue
                break
            with lock:
                answers[(status, code)] += 1

        threads = [threading.Thread(target=till) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers
