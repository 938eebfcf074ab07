"""The periodic tasks beat runs, registered idempotently after every migrate.

Created when missing and never overwritten, so a coordinator's change in the admin
(django-celery-beat's Periodic tasks) survives restarts. Beat runs in UTC; every
sweep is level-triggered, so a late, skipped or doubled run ends in the same state.

One exception: when a release changes a schedule's interval, a row still at an interval it shipped
with before (``Schedule.earlier_defaults``) was never changed by anyone, and moves to the new one;
any other interval is a coordinator's choice and stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    description: str
    # Intervals this schedule shipped with before: a row still at one of them is moved to every_seconds.
    earlier_defaults: tuple[int, ...] = ()


SCHEDULES = (
    Schedule(
        "First notices",
        "incidents.tasks.sweep_first_notices_task",
        60,
        "Every affected customer of an open incident hears from us within minutes of being added.",
    ),
    Schedule(
        "Kept promises",
        "incidents.tasks.sweep_kept_promises_task",
        60,
        "When a promised update falls due, every affected customer gets it, even if the news is “no news yet”.",
    ),
    Schedule(
        "Follow-up letters",
        "incidents.tasks.sweep_follow_ups_task",
        # Every minute, so CARE_FOLLOW_UP_AFTER_MINUTES means what it says (to the minute); a run with nothing
        # due reads one short list of resolved incidents.
        60,
        "After resolution, apology letters (with their vouchers) are prepared for the coordinator's approval.",
        earlier_defaults=(600,),
    ),
    Schedule("Surveys", "incidents.tasks.sweep_surveys_task", 3600, "A short survey a few days after the follow-up."),
    Schedule(
        "Disruption detection",
        "incidents.tasks.sweep_detection_task",
        60,
        "Cancellations and long delays at a station draft an incident (or extend one), with its flights' passengers, "
        "and alert the on-call coordinator; the detection rules say when.",
    ),
    Schedule(
        "Escalation alerts",
        "incidents.alert_tasks.sweep_alerts_task",
        60,
        "Late first contacts, lapsing or broken promises and letters stuck in sending alert the on-call coordinator.",
    ),
    Schedule(
        "Queued letters",
        "care.tasks.sweep_queued_letters",
        60,
        "Re-sends, within a minute or two, what a lost message or a quiet-hours wait left queued.",
        earlier_defaults=(300,),
    ),
    Schedule(
        "Letters left sending",
        "care.tasks.sweep_sending_letters",
        60,
        "Letters a crashed send run left “sending”: sent again if the email provider never got them, marked sent "
        "if it has them.",
    ),
    Schedule(
        "Tracking events",
        "care.tasks.sweep_letter_events",
        60,
        "Applies tracking events stored but not processed.",
        earlier_defaults=(300,),
    ),
    Schedule(
        "Voucher expiry", "vouchers.tasks.vouchers_expire_task", 3600, "Marks issued vouchers past expiry as expired."
    ),
    Schedule(
        "Stuck imports",
        "incidents.tasks.sweep_stuck_imports_task",
        60,
        "Imports of affected customers whose message was lost or whose worker died are started again.",
        earlier_defaults=(300,),
    ),
    Schedule(
        "Refused import files",
        "incidents.tasks.purge_refused_import_files_task",
        86400,
        "Files of refused imports are deleted once their retention (CARE_REFUSED_IMPORT_RETENTION_DAYS) has passed.",
    ),
)


def schedules_ensure(apps: Any | None = None) -> int:
    """Create the missing periodic tasks, and move those still at an earlier default interval to the current one;
    return how many were created."""
    if apps is None:
        apps = global_apps
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    created = 0
    for schedule in SCHEDULES:
        interval, _ = interval_model.objects.get_or_create(every=schedule.every_seconds, period="seconds")
        task, made = task_model.objects.get_or_create(
            name=schedule.name,
            defaults={"task": schedule.task, "interval": interval, "description": schedule.description},
        )
        created += made
        if (
            not made
            and task.task == schedule.task
            and task.interval is not None
            and task.interval.period == "seconds"
            and task.interval.every in schedule.earlier_defaults
        ):
            # save(), not update(): django-celery-beat's save signal tells a running beat to reload its schedule.
            task.interval = interval
            task.save(update_fields=["interval"])
    return created
