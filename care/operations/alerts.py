"""Escalation: what a coordinator must look at now, raised by the sweeps and mailed to the on-call coordinator.

Level-triggered like the other sweeps: each run raises an alert for every condition that holds
(at most one open alert per kind and key, enforced by the database) and resolves the open
alerts whose condition no longer holds. Nothing here depends on office hours.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Min
from django.utils import timezone

from care.core.actors import Person
from care.core.audit import audit_record, batch_details
from care.core.station_time import station_time
from care.correspondence.models.letters import Letter, LetterStatus
from incidents.models import ACTIVE_STATUSES, AffectedCustomer, Alert, AlertKind, Incident, SweepRun
from incidents.update_translations import hold_ends_at, latest_news_update, waiting_for_translation, waiting_message

logger = logging.getLogger(__name__)

# A promised update due within this window gets a heads-up; one overdue by the grace period is broken.
PROMISE_HEADS_UP = dt.timedelta(minutes=10)
PROMISE_GRACE = dt.timedelta(minutes=5)
ERRORS_SHOWN = 3  # a sweep's first errors in its alert; the rest are on the sweep run
# The longer bound for letters left "sending": the reconciliation (care.correspondence.sending.reconcile) settles
# every letter it can once it has been sending CARE_SENDING_STALE_AFTER (3 min by default); what is still sending
# this long after was handed to an ESP that cannot be asked and sent no tracking event: a person must look.
STUCK_SENDING_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Condition:
    kind: str
    key: str
    message: str
    incident_id: int | None = None


def _late_first_contacts(now: dt.datetime) -> list[Condition]:
    conditions = []
    incidents = Incident.objects.filter(status__in=ACTIVE_STATUSES).only(
        "pk", "reference", "first_contact_target_minutes"
    )
    for incident in incidents:
        cutoff = now - dt.timedelta(minutes=incident.first_contact_target_minutes)
        late = AffectedCustomer.objects.filter(
            incident=incident, first_contacted_at__isnull=True, created_at__lte=cutoff
        ).aggregate(n=Count("pk"), oldest=Min("created_at"))
        if late["n"]:
            waited = int((now - late["oldest"]).total_seconds() // 60)
            conditions.append(
                Condition(
                    AlertKind.FIRST_CONTACT_LATE,
                    f"incident:{incident.pk}",
                    f"{incident.reference}: {late['n']:,} affected customers have not heard from us "
                    f"within {incident.first_contact_target_minutes} minutes (the longest has waited {waited} min).",
                    incident.pk,
                )
            )
    return conditions


def _promises(now: dt.datetime) -> list[Condition]:
    conditions = []
    due_soon = Incident.objects.filter(
        status__in=ACTIVE_STATUSES, next_update_due_at__isnull=False, next_update_due_at__lte=now + PROMISE_HEADS_UP
    ).only("pk", "reference", "next_update_due_at", "stations")
    for incident in due_soon:
        assert incident.next_update_due_at is not None
        if incident.next_update_due_at <= now - PROMISE_GRACE:
            kind, text = AlertKind.PROMISE_BROKEN, "is overdue and was not sent"
        else:
            kind, text = AlertKind.PROMISE_LAPSING, "is due soon: post the news, or customers will hear “no news yet”"
        due = station_time(incident.next_update_due_at, incident, utc=True, date=False)  # "11:00 EST (16:00 UTC)"
        conditions.append(
            Condition(
                kind,
                f"incident:{incident.pk}",
                f"{incident.reference}: the update promised for {due} {text}.",
                incident.pk,
            )
        )
    return conditions


def _stuck_sending(now: dt.datetime) -> list[Condition]:
    rows = (
        Letter.objects.filter(status=LetterStatus.SENDING, updated_at__lte=now - STUCK_SENDING_AFTER)
        .values("incident_id", "incident__reference")
        .annotate(n=Count("pk"))
        .order_by("incident_id")
    )
    return [
        Condition(
            AlertKind.STUCK_SENDING,
            f"incident:{row['incident_id']}",
            f"{row['incident__reference'] or 'No incident'}: {row['n']:,} letters have been “sending” for more than "
            f"{int(STUCK_SENDING_AFTER.total_seconds() // 60)} minutes. The email provider may have them (they were "
            "handed over, but neither its answer nor a tracking event came back): check its log before resending.",
            row["incident_id"],
        )
        for row in rows
    ]


def _untranslated_news(now: dt.datetime) -> list[Condition]:
    """An active incident whose latest news lacks some customers' languages, while they are held for it (the
    alert incident_post_update opens at once; it holds until the translations arrive or the hold's bound)."""
    conditions = []
    for incident in Incident.objects.filter(status__in=ACTIVE_STATUSES).only(
        "pk", "reference", "stations", "next_update_due_at"
    ):
        update = latest_news_update(incident.pk)
        if update is None or now >= hold_ends_at(update):
            continue
        waiting = waiting_for_translation(update)
        if waiting:
            message = waiting_message(incident=incident, update=update, waiting=waiting)
            conditions.append(Condition(AlertKind.NEWS_UNTRANSLATED, f"incident:{incident.pk}", message, incident.pk))
    return conditions


# The sweeps whose failures are escalated: the names incidents.tasks and incidents.alert_tasks give run_sweep.
WATCHED_SWEEPS = ("first_notices", "kept_promises", "follow_ups", "surveys", "escalation alerts", "detection")


def _failed_sweeps(now: dt.datetime) -> list[Condition]:
    """A sweep whose latest finished run recorded errors: one alert per sweep until a run goes through clean.

    The errors are the sweep's short messages (exception types and coordinator-readable refusals, never
    personal data), so they can be mailed as they are.
    """
    conditions = []
    for name in WATCHED_SWEEPS:
        run = (
            SweepRun.objects.filter(name=name, finished_at__isnull=False, started_at__lte=now)
            .order_by("-started_at", "-id")
            .only("pk", "errors", "finished_at")
            .first()
        )
        if run is None or not run.errors:
            continue
        assert run.finished_at is not None
        shown = "; ".join(str(error) for error in run.errors[:ERRORS_SHOWN])
        more = f" (and {len(run.errors) - ERRORS_SHOWN} more)" if len(run.errors) > ERRORS_SHOWN else ""
        conditions.append(
            Condition(
                AlertKind.SWEEP_FAILED,
                f"sweep:{name}",
                f"The {name.replace('_', ' ')} sweep failed at {run.finished_at:%H:%M} UTC: {shown}{more}. "
                "It runs again on its schedule; see Sweep runs for the details.",
            )
        )
    return conditions


SWEPT_KINDS = (
    AlertKind.FIRST_CONTACT_LATE,
    AlertKind.PROMISE_LAPSING,
    AlertKind.PROMISE_BROKEN,
    AlertKind.STUCK_SENDING,
    AlertKind.SWEEP_FAILED,
    AlertKind.NEWS_UNTRANSLATED,
)


def alerts_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Raise an alert for every condition that holds, resolve the ones that no longer do, notify new ones."""
    moment = now or timezone.now()
    conditions = _late_first_contacts(moment) + _promises(moment) + _stuck_sending(moment) + _failed_sweeps(moment)
    conditions += _untranslated_news(moment)
    holding = {(condition.kind, condition.key) for condition in conditions}
    raised: list[int] = []
    for condition in conditions:
        try:
            with transaction.atomic():
                alert, created = Alert.objects.get_or_create(
                    kind=condition.kind,
                    key=condition.key,
                    resolved_at=None,
                    defaults={"message": condition.message, "incident_id": condition.incident_id, "raised_at": moment},
                )
        except IntegrityError:
            continue  # Another sweep raised the same alert at the same moment.
        if created:
            raised.append(alert.pk)
        elif alert.message != condition.message:
            Alert.objects.filter(pk=alert.pk).update(message=condition.message)
    stale = [
        alert.pk
        for alert in Alert.objects.filter(kind__in=SWEPT_KINDS, resolved_at__isnull=True).only("pk", "kind", "key")
        if (alert.kind, alert.key) not in holding
    ]
    resolved = Alert.objects.filter(pk__in=stale).update(resolved_at=moment)
    # Alerts raised elsewhere (a sweep that could not keep a promise, issuance held over budget) are mailed
    # here too: every open alert reaches the on-call coordinator once, whoever raised it.
    unsent = Alert.objects.filter(resolved_at__isnull=True, notified_at__isnull=True).values_list("pk", flat=True)
    to_notify = sorted(set(raised) | set(unsent))
    notified = alerts_notify(alert_ids=to_notify) if to_notify else 0
    return {"conditions": len(conditions), "raised": len(raised), "resolved": resolved, "notified": notified}


def alerts_notify(*, alert_ids: list[int]) -> int:
    """Mail the on-call coordinator once per alert (the notified_at guard makes a second call a no-op)."""
    sent = 0
    for alert in Alert.objects.filter(pk__in=alert_ids, notified_at__isnull=True).select_related("incident"):
        claimed = Alert.objects.filter(pk=alert.pk, notified_at__isnull=True).update(notified_at=timezone.now())
        if not claimed:
            continue
        send_mail(
            subject=f"[Care alert] {alert.get_kind_display()}",
            message=f"{alert.message}\n\nOpen the workbench: /admin/incidents/alert/{alert.pk}/change/",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[settings.ONCALL_COORDINATOR_EMAIL],
        )
        sent += 1
    logger.info("alerts notified", extra={"count": sent})
    return sent


def alert_acknowledge(*, alert_ids: list[int], actor: Person) -> int:
    """A coordinator takes the alerts on ("I am on it"); one audit entry for the ones not taken on before."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Alert.objects.select_for_update()
            .filter(pk__in=alert_ids, acknowledged_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        count = Alert.objects.filter(pk__in=ids, acknowledged_at__isnull=True).update(
            acknowledged_by=actor, acknowledged_at=now
        )
        if ids:
            audit_record(
                actor=actor,
                action="alert.acknowledge",
                target=("incidents.alert", ids[0]) if len(ids) == 1 else ("incidents.alert", None),
                details=batch_details(ids),
                at=now,
            )
    return count
