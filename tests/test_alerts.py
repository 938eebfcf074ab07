"""Escalation alerts and the registration of the periodic tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from care.correspondence.models.letters import LetterStatus
from care.operations.alerts import alerts_sweep
from incidents.models import Alert, AlertKind, IncidentStatus, SweepRun
from incidents.schedules import SCHEDULES, schedules_ensure
from tests.factories import AffectedCustomerFactory, IncidentFactory, LetterFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)  # the middle of the night: alerts do not wait for the office


def open_incident(**fields: Any) -> Any:
    defaults = {"status": IncidentStatus.OPEN, "next_update_due_at": NOW + dt.timedelta(hours=1)}
    return IncidentFactory.create(**{**defaults, **fields})


def test_customers_not_contacted_in_time_raise_one_alert_and_one_mail(settings: Any) -> None:
    settings.ONCALL_COORDINATOR_EMAIL = "oncall@example.com"
    incident = open_incident(first_contact_target_minutes=15)
    AffectedCustomerFactory.create_batch(3, incident=incident, created_at=NOW - dt.timedelta(minutes=40))
    AffectedCustomerFactory.create(incident=incident, created_at=NOW - dt.timedelta(minutes=5))  # not late yet

    first = alerts_sweep(now=NOW)
    second = alerts_sweep(now=NOW + dt.timedelta(minutes=1))

    alert = Alert.objects.get(kind=AlertKind.FIRST_CONTACT_LATE)
    assert "3 affected customers have not heard from us within 15 minutes" in alert.message
    assert (first["raised"], second["raised"]) == (1, 0)
    assert [message.to for message in mail.outbox] == [["oncall@example.com"]]
    assert alert.notified_at is not None


def test_an_alert_resolves_itself_when_the_customers_are_contacted() -> None:
    incident = open_incident()
    late = AffectedCustomerFactory.create(incident=incident, created_at=NOW - dt.timedelta(hours=1))
    alerts_sweep(now=NOW)
    late.first_contacted_at = NOW
    late.save()
    outcome = alerts_sweep(now=NOW + dt.timedelta(minutes=1))
    assert outcome["resolved"] == 1
    assert Alert.objects.get().resolved_at == NOW + dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("due_in", "expected"),
    [
        (dt.timedelta(minutes=30), None),
        (dt.timedelta(minutes=8), AlertKind.PROMISE_LAPSING),
        (dt.timedelta(minutes=-2), AlertKind.PROMISE_LAPSING),
        (dt.timedelta(minutes=-6), AlertKind.PROMISE_BROKEN),
    ],
)
def test_promises_about_to_lapse_or_broken(due_in: dt.timedelta, expected: str | None) -> None:
    open_incident(next_update_due_at=NOW + due_in)
    alerts_sweep(now=NOW)
    assert list(Alert.objects.values_list("kind", flat=True)) == ([expected] if expected else [])


def test_resolved_incidents_make_no_promise_alerts() -> None:
    open_incident(status=IncidentStatus.RESOLVED, next_update_due_at=NOW - dt.timedelta(hours=2))
    alerts_sweep(now=NOW)
    assert not Alert.objects.exists()


def test_letters_stuck_in_sending_raise_an_alert() -> None:
    incident = open_incident()
    letter = LetterFactory.create(affected__incident=incident, status=LetterStatus.SENDING)
    type(letter).objects.filter(pk=letter.pk).update(updated_at=NOW - dt.timedelta(minutes=20))
    alerts_sweep(now=NOW)
    alert = Alert.objects.get(kind=AlertKind.STUCK_SENDING)
    assert "1 letters have been “sending”" in alert.message


def test_periodic_tasks_are_registered_once_and_keep_admin_edits() -> None:
    names = {schedule.name for schedule in SCHEDULES}
    assert names <= set(PeriodicTask.objects.values_list("name", flat=True))  # post_migrate registered them
    PeriodicTask.objects.filter(name="Surveys").update(enabled=False)
    assert schedules_ensure() == 0
    assert PeriodicTask.objects.filter(name__in=names).count() == len(names)
    assert PeriodicTask.objects.get(name="Surveys").enabled is False


def test_alert_and_sweep_run_pages(coordinator_client: Any, rep_client: Any) -> None:
    incident = open_incident()
    AffectedCustomerFactory.create(incident=incident, created_at=NOW - dt.timedelta(hours=1))
    alerts_sweep(now=NOW)
    SweepRun.objects.create(name="first notices", counts={"customers": 12}, finished_at=timezone.now())
    page = coordinator_client.get(reverse("admin:incidents_alert_changelist")).content.decode()
    assert incident.reference in page
    assert "customers: 12" in coordinator_client.get(reverse("admin:incidents_sweeprun_changelist")).content.decode()
    alert = Alert.objects.get()
    forbidden = rep_client.post(
        reverse("admin:incidents_alert_changelist"), {"action": "acknowledge", ACTION_CHECKBOX_NAME: [alert.pk]}
    )
    assert forbidden.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    coordinator_client.post(
        reverse("admin:incidents_alert_changelist"), {"action": "acknowledge", ACTION_CHECKBOX_NAME: [alert.pk]}
    )
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None


def test_a_failed_sweep_raises_one_alert_until_a_clean_run(settings: Any) -> None:
    from care.operations.sweeps import run_sweep

    settings.ONCALL_COORDINATOR_EMAIL = "oncall@example.com"

    def broken() -> dict[str, int]:
        raise RuntimeError("database went away")

    with time_machine_at(NOW - dt.timedelta(minutes=2)):
        run_sweep("follow_ups", broken)
    alerts_sweep(now=NOW)
    alerts_sweep(now=NOW + dt.timedelta(minutes=1))

    alert = Alert.objects.get(kind=AlertKind.SWEEP_FAILED)
    assert alert.key == "sweep:follow_ups"
    assert "The follow ups sweep failed" in alert.message
    assert "RuntimeError" in alert.message
    assert "database went away" not in alert.message  # driver messages can quote rows: only the type is kept
    assert [message.to for message in mail.outbox] == [["oncall@example.com"]]

    with time_machine_at(NOW + dt.timedelta(minutes=2)):
        run_sweep("follow_ups", lambda: {"incidents": 0})
    alerts_sweep(now=NOW + dt.timedelta(minutes=3))
    alert.refresh_from_db()
    assert alert.resolved_at == NOW + dt.timedelta(minutes=3)


def time_machine_at(moment: dt.datetime) -> Any:
    """SweepRun takes its times from timezone.now(); pin it for the run."""
    from unittest import mock

    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_a_sweep_error_is_logged_without_the_exceptions_text(caplog: Any) -> None:
    from care.operations.sweeps import run_sweep

    address = "ann.smith" + "@example.com"  # built at run time, as a database's error detail would be

    def leaky() -> dict[str, int]:
        raise ValueError(f"duplicate key value: Key (email)=({address}) already exists")

    with caplog.at_level("WARNING", logger="care.operations.sweeps"):
        run = run_sweep("surveys", leaky)
    assert run.errors == ["surveys: ValueError"]
    assert "ValueError" in caplog.text
    assert "in leaky" in caplog.text  # where it failed is kept
    assert "ann.smith@example.com" not in caplog.text


def test_the_follow_up_delay_means_what_it_says(settings: Any) -> None:
    """CARE_FOLLOW_UP_AFTER_MINUTES=2 took 12 minutes while the sweep ran every 10: it runs every minute, also on
    an installation still at the old interval."""
    from django_celery_beat.models import IntervalSchedule

    follow_ups = next(schedule for schedule in SCHEDULES if schedule.task == "incidents.tasks.sweep_follow_ups_task")
    assert follow_ups.every_seconds <= 60
    schedules_ensure()
    ten_minutes, _ = IntervalSchedule.objects.get_or_create(every=600, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=follow_ups.name).update(interval=ten_minutes)
    schedules_ensure()
    assert PeriodicTask.objects.get(name=follow_ups.name).interval.every == follow_ups.every_seconds
