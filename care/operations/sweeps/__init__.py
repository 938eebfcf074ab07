"""The scheduled sweeps: every promise to every affected customer, kept exactly once.

Celery beat runs each sweep every few minutes (incidents.tasks). A sweep is level-triggered: it looks for
everything that is due and not done, so a beat that fires twice, late, or across a DST change ends in the
same state, and a run that finds nothing to do changes nothing. Exactly-once comes from the database: the
unique (affected, kind, sequence) letter constraint with ``bulk_create(ignore_conflicts=True)``, the
unique (incident, kind, sequence) batch constraint, a row lock on the incident before an update is
numbered, and ``letters_queue`` moving only DRAFT/APPROVED letters under a status guard. A customer on several
open incidents gets one notice and one update at a time, covering them all (care.correspondence.streams: the
chunk locks its customers, and the other incidents' rows get markers that hold their letters' places).

Work for many customers is fanned out in chunks of ``settings.CARE_SWEEP_CHUNK`` affected ids per task,
published after commit; never one message per customer.

The modules, one per sweep, and the running and recording they share:

- ``runs``: ``run_sweep`` and its SweepRun, per-incident error recording, chunking;
- ``first_notices``: the initial notice of every affected customer of an open incident;
- ``kept_promises``: promised updates that fall due, with the news or "no news yet";
- ``impact_changes``: an update of their own for the passengers whose flight got worse (run by kept_promises);
- ``follow_ups``: vouchers and apology drafts once an incident has been resolved for a while;
- ``surveys``: the satisfaction survey after the apology.

This package re-exports their public names; the modules import each other directly, never from here.
"""

from care.operations.sweeps.first_notices import FIRST_NOTICE_GRACE, first_notices_for, sweep_first_notices
from care.operations.sweeps.follow_ups import RESOLVED_STATUSES, sweep_follow_ups
from care.operations.sweeps.kept_promises import (
    NO_NEWS_PREFIX,
    NO_NEWS_TEXT,
    RESUME_AFTER,
    sweep_kept_promises,
    updates_for,
)
from care.operations.sweeps.runs import ERROR_MAX, SWEEPER, run_sweep
from care.operations.sweeps.surveys import SURVEY_TOO_LATE, sweep_surveys

__all__ = [
    "ERROR_MAX",
    "FIRST_NOTICE_GRACE",
    "NO_NEWS_PREFIX",
    "NO_NEWS_TEXT",
    "RESOLVED_STATUSES",
    "RESUME_AFTER",
    "SURVEY_TOO_LATE",
    "SWEEPER",
    "first_notices_for",
    "run_sweep",
    "sweep_first_notices",
    "sweep_follow_ups",
    "sweep_kept_promises",
    "sweep_surveys",
    "updates_for",
]
