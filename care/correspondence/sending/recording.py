"""Recording a hand-over: that letters are being handed to the ESP, committed before its call; and after the
call what the ESP answered, each letter's outcome in one transaction, and the customers it reached."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from care.core.bulk import rows_update
from care.correspondence.letter_moves import letters_record_contact
from care.correspondence.models.letters import Letter, LetterStatus
from care.correspondence.sending.outcomes import FAILED, REQUEUE, SENT, UNCONFIRMED, Outcome, SendSummary
from care.correspondence.sending.rows import record_moves


def _mark_handed_over(letter_ids: list[int]) -> bool:
    """Mark these letters as handed over now, committed before the ESP call that carries them.

    A crash during or after the call then leaves them SENDING with ``handover_at`` set, and the reconciliation
    (care.correspondence.sending.reconcile) asks whether the ESP has them before anything is sent again; a
    letter left SENDING without the mark was never handed over and is safely sent again.

    Returns False, writing nothing, when any of them is no longer this run's to send (not SENDING, or already
    marked by another run): the caller then skips the call. That happens only to a run that outlived its time
    limit, whose letters were meanwhile reconciled and claimed again; the run that holds them sends them.
    One UPDATE per ESP call, not per letter.
    """
    with transaction.atomic():
        marked = Letter.objects.filter(pk__in=letter_ids, status=LetterStatus.SENDING, handover_at__isnull=True).update(
            handover_at=timezone.now()
        )
        if marked != len(set(letter_ids)):
            transaction.set_rollback(True)
            return False
    return True


def _record(outcomes: dict[int, Outcome], summary: SendSummary, *, provider: str = "the email provider") -> None:
    if not outcomes:
        return
    now = timezone.now()
    with transaction.atomic():
        rows = {
            pk: (status, esp_message_id, affected_id, incident_id)
            for pk, status, esp_message_id, affected_id, incident_id in Letter.objects.select_for_update()
            .filter(pk__in=list(outcomes))
            .order_by("pk")
            .values_list("pk", "status", "esp_message_id", "affected_id", "incident_id")
        }
        sending = {pk for pk, row in rows.items() if row[0] == LetterStatus.SENDING}

        def still_sending(kind: str) -> dict[int, str]:
            return {pk: o.detail for pk, o in outcomes.items() if o.kind == kind and pk in sending}

        # The rows are locked above, and still_sending() keeps those still SENDING: each is written with its
        # own values in one UPDATE per batch.
        sent = still_sending(SENT)
        if sent:
            rows_update(
                [
                    Letter(
                        pk=pk,
                        status=LetterStatus.SENT,
                        sent_at=now,
                        esp_message_id=message_id,
                        last_error="",
                        updated_at=now,
                    )
                    for pk, message_id in sent.items()
                ],
                fields=["status", "sent_at", "esp_message_id", "last_error", "updated_at"],
            )
            record_moves(
                ((pk, LetterStatus.SENDING) for pk in sent),
                to_status=LetterStatus.SENT,
                at=now,
                note=f"accepted by {provider}",
            )
        # Sent, but the ESP's tracking webhook got there first and moved the letter on: keep its message id.
        overtaken = {
            pk: o.detail
            for pk, o in outcomes.items()
            if o.kind == SENT and pk in rows and pk not in sending and not rows[pk][1] and o.detail
        }
        if overtaken:  # locked above with an empty esp_message_id
            rows_update(
                [Letter(pk=pk, esp_message_id=message_id) for pk, message_id in overtaken.items()],
                fields=["esp_message_id"],
            )
        contacted = [pk for pk, o in outcomes.items() if o.kind == SENT and pk in rows]
        letters_record_contact(
            affected_ids=[rows[pk][2] for pk in contacted if rows[pk][2]], at=now, letter_ids=contacted
        )
        # A letter queued again keeps its reason in last_error, never empty: that also tells the queued-letters
        # sweep (sending.queue) that its retry waits in the broker, so it is not published again before then.
        for kind, target, note in (
            (FAILED, LetterStatus.FAILED, f"refused by {provider}"),
            (REQUEUE, LetterStatus.QUEUED, f"not taken by {provider} this time; will retry"),
        ):
            moved = still_sending(kind)
            if moved:
                rows_update(
                    [Letter(pk=pk, status=target, last_error=reason, updated_at=now) for pk, reason in moved.items()],
                    fields=["status", "last_error", "updated_at"],
                )
                record_moves(((pk, LetterStatus.SENDING) for pk in moved), to_status=target, at=now, note=note)
        unconfirmed = still_sending(UNCONFIRMED)
        if unconfirmed:
            rows_update(
                [Letter(pk=pk, last_error=reason, updated_at=now) for pk, reason in unconfirmed.items()],
                fields=["last_error", "updated_at"],
            )
    # Added to: one run records its email letters, then its SMS letters.
    summary.sent += len(contacted)
    summary.failed += len(still_sending(FAILED))
    summary.requeued += len(still_sending(REQUEUE))
    summary.unconfirmed += len(unconfirmed)
