"""What a send run learns about each letter: its outcome, kept per run until it is recorded, and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.mail.backends.base import BaseEmailBackend

from care.correspondence.verdicts import FAILED, REQUEUE, SENT, UNCONFIRMED

__all__ = ["FAILED", "REQUEUE", "SENT", "UNCONFIRMED", "Outcome", "SendSummary"]


@dataclass(frozen=True)
class Outcome:
    kind: str  # SENT, FAILED, REQUEUE or UNCONFIRMED
    detail: str = ""  # the ESP message id when SENT, otherwise the reason


@dataclass
class _Delivery:
    """One send run: the connection it uses and each letter's outcome so far."""

    connection: BaseEmailBackend
    esp_name: str | None
    outcomes: dict[int, Outcome] = field(default_factory=dict)


@dataclass
class SendSummary:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    requeued: int = 0
    # Left in SENDING: the ESP may or may not have them; its tracking events will tell.
    unconfirmed: int = 0
    api_calls: int = 0
