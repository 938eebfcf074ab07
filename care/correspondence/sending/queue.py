"""Queueing letters for sending: the letters that may go become QUEUED and their sending is published after
commit; the sweep publishes again the letters left queued, and those released at the customer's morning."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from care.core.actors import Actor, SystemActor, acting
from care.core.audit import audit_record, batch_details
from care.core.background import enqueue_on_commit
from care.correspondence.models.letters import KINDS_NEEDING_APPROVAL, Channel, Letter, LetterStatus
from care.correspondence.quiet_hours import KINDS_THAT_WAIT, release_time
from care.correspondence.sending.rows import SENDER, id_chunks, record_moves
from incidents.models import Incident

# One logger for the package: its lines keep the name they are filtered on.
logger = logging.getLogger(__package__)


def letters_queue(
    *,
    letter_ids: Iterable[int],
    actor: Actor | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> int:
    """Queue the letters that may go and enqueue their sending after commit; return how many were queued.

    A letter may go when it is an email or SMS whose personal-letter check passed and that has a subject and
    a body (and an SMS its text), and it is either APPROVED, or a DRAFT of a kind that needs no approval
    (notices, updates) for an incident that sends those without approval. The others are skipped, not
    refused: a batch queues what is ready. One ``letters.queue`` audit entry records the call (who, how
    many, which), beside each letter's own status trail.

    Quiet hours: a letter of a kind that can wait (care.correspondence.quiet_hours.KINDS_THAT_WAIT) queued during the
    customer's local night gets ``send_after`` = their next local morning and is not enqueued now; the
    sweep of queued letters enqueues it once that time has come.
    """
    ids = sorted(set(letter_ids))
    now = now or timezone.now()
    may_go = (
        Letter.objects.filter(check_passed=True)
        # An SMS letter sends its text; its letter (subject and body) is what its link shows, when it has one.
        .filter(Q(channel=Channel.EMAIL) | (Q(channel=Channel.SMS) & ~Q(sms_body="")))
        .exclude(subject="")
        .exclude(body_text="")
        .filter(
            Q(status=LetterStatus.APPROVED)
            | (
                Q(status=LetterStatus.DRAFT)
                & ~Q(kind__in=KINDS_NEEDING_APPROVAL)
                & Q(incident_id__in=Incident.objects.filter(auto_send_notices=True).values("pk"))
            )
        )
    )
    queued_ids: list[int] = []
    queued_now: list[int] = []
    waiting = 0
    with transaction.atomic():
        for chunk in id_chunks(ids):
            rows = list(
                may_go.select_for_update(of=("self",))
                .filter(pk__in=chunk)
                .order_by("pk")
                .values_list("pk", "status", "kind", "customer__time_zone")
            )
            by_status: dict[tuple[str, datetime | None], list[int]] = {}
            for pk, status, kind, time_zone in rows:
                wait = release_time(now=now, time_zone=time_zone) if kind in KINDS_THAT_WAIT else None
                by_status.setdefault((status, wait), []).append(pk)
            moved: list[tuple[int, str]] = []
            for (status, wait), pks in by_status.items():
                Letter.objects.filter(pk__in=pks, status=status).update(
                    status=LetterStatus.QUEUED, queued_at=now, send_after=wait, last_error="", updated_at=now
                )
                moved += [(pk, status) for pk in pks]
                if wait is None:
                    queued_now += pks
                else:
                    waiting += len(pks)
            record_moves(
                moved,
                to_status=LetterStatus.QUEUED,
                at=now,
                note="queued for sending",
                actor=actor,
                actor_label=actor_label,
            )
            queued_ids += [pk for pk, _status in moved]
        if queued_ids:
            audit_record(
                actor=acting(actor, actor_label, default=SystemActor(SENDER)),
                action="letters.queue",
                target=("care.letter", None),
                details=batch_details(queued_ids, waiting_for_morning=waiting),
                at=now,
            )
        if queued_now:
            enqueue_sending(queued_now)
    logger.info("letters_queue requested=%d queued=%d waiting=%d", len(ids), len(queued_ids), waiting)
    return len(queued_ids)


def enqueue_sending(letter_ids: Sequence[int]) -> None:
    """Publish the sending of these QUEUED letters in chunks, after the current transaction commits."""
    size = int(getattr(settings, "CARE_SEND_CHUNK", 100))
    for chunk in id_chunks(sorted(letter_ids), size):
        enqueue_on_commit("care.tasks.send_letters", chunk)


# Letters published again per run at most (in send tasks of CARE_SEND_CHUNK: 500 messages). A run republishes
# letters whose publish is overdue, and while a large queue is being drained some of those are not lost but still
# waiting in the broker: their second message is a no-op (the claim is exclusive, so it finds them taken or takes
# them first and the original finds nothing), but it is a message. The bound keeps that to 500 messages a minute
# whatever the backlog, while a real loss of the demo's 5,724 letters (or of 50,000) is republished in one run.
REPUBLISH_PER_RUN = 50_000


def letters_send_stale_queued(
    *,
    older_than: timedelta = timedelta(minutes=1),
    retry_older_than: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
    limit: int = REPUBLISH_PER_RUN,
) -> int:
    """The sweep: publish sending again for email and SMS letters left QUEUED whose publish is overdue.

    Two kinds of QUEUED letter, told apart by ``last_error``:

    - queued for a first publish (``letters_queue``, the sweeps' chunks, or the reconciliation of a lost send run),
      with no error: overdue ``older_than`` after ``queued_at``. This covers a publish lost between commit and
      broker, and a broker that lost its messages (down, flushed, restarted empty).
    - queued again by the sender for a retry (the ESP said "not now", or the run ran out of time), which always
      says why in ``last_error``: the task's retry waits in the broker for up to its backoff
      (care.tasks.SEND_RETRY_BACKOFF_MAX), so these are overdue only ``retry_older_than`` after that requeue.
      Publishing them sooner would start a second chain of retries against an ESP that asked us to slow down.

    Claiming is exclusive, so a letter published twice is still handed to the ESP once. At most ``limit`` letters
    per run, in id order (see REPUBLISH_PER_RUN).

    It also releases the letters that waited for the customer's morning (``send_after``): nothing was
    published for them when they were queued, so they are enqueued on every run from their release time
    for ``older_than``, and after that treated like any other stale letter. A letter still waiting is never
    enqueued.
    """
    now = now or timezone.now()
    cutoff = now - older_than
    just_released = Q(send_after__lte=now, send_after__gt=cutoff)
    first_publish_overdue = Q(last_error="") & (Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True))
    retry_overdue = ~Q(last_error="") & Q(updated_at__lt=now - retry_older_than)
    stale = (Q(send_after__isnull=True) | Q(send_after__lte=cutoff)) & (first_publish_overdue | retry_overdue)
    due = list(
        Letter.objects.filter(status=LetterStatus.QUEUED, channel__in=(Channel.EMAIL, Channel.SMS))
        .filter(just_released | stale)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if due:
        with transaction.atomic():
            enqueue_sending(due)
    logger.info("letters_send_stale_queued enqueued=%d", len(due))
    return len(due)
