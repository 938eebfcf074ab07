"""An email backend for the fault tests' worker processes (tests/test_faults.py): the local outbox, stalling once
in the middle of a send so that a test can kill the worker, or its database connections, at a known point.

Used only when a worker is started with ``EMAIL_BACKEND=tests.fault_backends.StallingOutbox``; nothing in the
product refers to it. It sends one message per letter (it has no batch format), counts the messages its process
hands over, and on message number ``CARE_FAULT_STALL_AT`` (1-based), before storing it (or just after, with
``CARE_FAULT_STALL_AFTER_STORE=1``: the ESP has it, its answer is not back yet):

- writes its pid to the file ``CARE_FAULT_MARKER`` (atomically, so the test never reads it half written);
- waits until the file ``CARE_FAULT_MARKER + ".go"`` exists, or ``CARE_FAULT_STALL_SECONDS`` (60) have passed;
- then carries on as the outbox always does (and fails where the test killed its database connection).

With the marker already there (a worker started after the fault) it never stalls.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from care.correspondence.outbox import OutboxEmailBackend
from care.correspondence.sms.backends import OutboxSmsBackend, SmsMessage, SmsResult


class StallingOutbox(OutboxEmailBackend):
    esp_name = "Stalling outbox"  # not in esp_formats: one message per letter, over one connection
    handed = 0  # messages handed over by this process

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        cls = type(self)
        cls.handed += 1
        stall = cls.handed == int(os.environ["CARE_FAULT_STALL_AT"])
        after_store = os.environ.get("CARE_FAULT_STALL_AFTER_STORE") == "1"
        if stall and not after_store:
            _stall_once()
        answer = super().post_to_esp(payload, message)
        if stall and after_store:
            _stall_once()
        return answer


def _stall_once() -> None:
    marker = Path(os.environ["CARE_FAULT_MARKER"])
    if marker.exists():
        return
    written = marker.with_suffix(".tmp")
    written.write_text(str(os.getpid()))
    written.rename(marker)
    go = Path(f"{marker}.go")
    deadline = time.monotonic() + float(os.environ.get("CARE_FAULT_STALL_SECONDS", "60"))
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class StallingSmsOutbox(OutboxSmsBackend):
    """The local SMS outbox, one message per call like a real provider, stalling as :class:`StallingOutbox` does
    (``SMS_BACKEND=tests.fault_backends.StallingSmsOutbox``)."""

    messages_per_call = 1
    handed = 0

    def send_messages(self, messages: Sequence[SmsMessage]) -> list[SmsResult]:
        cls = type(self)
        results = []
        for message in messages:
            cls.handed += 1
            if cls.handed == int(os.environ["CARE_FAULT_STALL_AT"]):
                _stall_once()
            results += super().send_messages([message])
        return results
