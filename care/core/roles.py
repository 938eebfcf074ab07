"""The two roles, declared once and kept in sync with the permissions that exist.

A data migration creates the groups; a post_migrate hook re-applies the same
declaration so that models added later get their permissions without a new
data migration each time.
"""

from __future__ import annotations

from typing import Any

COORDINATORS = "Coordinators"
FRONTLINE_REPS = "Frontline reps"

# app_label -> model -> actions. "view" alone means read-only.
_READ_ALL: dict[str, dict[str, tuple[str, ...]]] = {
    "care": {
        "customer": ("view",),
        "letter": ("view",),
        "lettertemplate": ("view",),
        "letterstatuschange": ("view",),
        "letterbatch": ("view",),
        "letterevent": ("view",),
        # Frontline briefings: every role reads them; a rep records the conversations they have.
        "incidentbriefing": ("view",),
        "contactnote": ("view", "add"),
    },
    "incidents": {
        "incident": ("view",),
        "incidentupdate": ("view",),
        "affectedcustomer": ("view",),
        "incidentstatuschange": ("view",),
        "incidenttranslation": ("view",),
        "incidentupdatetranslation": ("view",),
        "paragraphvariant": ("view",),
        "alert": ("view",),
        "sweeprun": ("view",),
        "importjob": ("view",),
        "importrejection": ("view",),
        "flight": ("view",),
        "flightstatusevent": ("view",),
        "booking": ("view",),
        "incidentflight": ("view",),
        "detectionrule": ("view",),
    },
    "vouchers": {
        "voucher": ("view",),
        "compensationrule": ("view",),
        "voucherstatuschange": ("view",),
        "voucherredemption": ("view",),
        "incidentcompensation": ("view",),
    },
}

_COORDINATOR_EXTRA: dict[str, dict[str, tuple[str, ...]]] = {
    "care": {
        "customer": ("add", "change"),
        "letter": ("add", "change", "approve"),
        "lettertemplate": ("add", "change", "delete"),
        "letterbatch": ("change",),
        "outboxmessage": ("view",),
        "smsoutboxmessage": ("view",),
        "smsevent": ("view",),
        "apitoken": ("view", "add", "revoke"),
        "incidentbriefing": ("add", "change", "publish"),
        "briefingread": ("view",),
        "customerpageview": ("view",),
        # The audit log: who changed what, old and new values (customer-facing texts, customers' own fields).
        "auditentry": ("view",),
    },
    "incidents": {
        "incident": ("add", "change", "transition"),
        "incidentupdate": ("add", "change"),
        "incidenttranslation": ("add", "change", "delete"),
        "incidentupdatetranslation": ("add", "change"),  # the letters that quoted one are history: no delete
        "paragraphvariant": ("add", "change", "delete"),
        "alert": ("change",),
        "affectedcustomer": ("add", "change", "delete"),
        "importjob": ("add",),
        # Posting status events by hand (the API, signed in): the feed decides what they change, and audits it.
        "flightstatusevent": ("add",),
        # Recording bookings by hand (the API, signed in), and the thresholds at which detection drafts incidents.
        "booking": ("add",),
        "detectionrule": ("add", "change"),
    },
    "vouchers": {
        "voucher": ("change", "issue", "void", "export"),
        "compensationrule": ("add", "change"),
        "incidentcompensation": ("add", "change", "approve"),
    },
    "django_celery_beat": {
        "periodictask": ("view", "change"),
        "intervalschedule": ("view",),
        "crontabschedule": ("view",),
    },
    # Login lockouts (django-axes): a coordinator sees who is locked and lifts a lock by deleting the attempt.
    "axes": {
        "accessattempt": ("view", "delete"),
    },
}


def _codenames(spec: dict[str, dict[str, tuple[str, ...]]]) -> set[tuple[str, str]]:
    return {
        (app_label, f"{action}_{model}")
        for app_label, models in spec.items()
        for model, actions in models.items()
        for action in actions
    }


def role_permissions() -> dict[str, set[tuple[str, str]]]:
    reads = _codenames(_READ_ALL)
    return {FRONTLINE_REPS: reads, COORDINATORS: reads | _codenames(_COORDINATOR_EXTRA)}


def sync_roles(apps: Any) -> None:
    """Create both groups and set exactly the declared permissions that exist so far."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for group_name, wanted in role_permissions().items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        existing = [
            perm
            for perm in permission_model.objects.select_related("content_type").filter(
                content_type__app_label__in={app for app, _ in wanted}
            )
            if (perm.content_type.app_label, perm.codename) in wanted
        ]
        group.permissions.set(existing)
