"""Every write of the frontline side: drafting and publishing briefings, reads, contact notes, page views.

Drafts started, edited and published, and contact notes, are audited. A briefing read and a customer page view
are not: each is itself a record of who did what and when (one row per read, one per view), and the page a rep
opens a hundred times a shift must not write two rows per view.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from care.briefings.models import BriefingRead, ContactNote, CustomerPageView, IncidentBriefing
from care.briefings.offers import offer_lines
from care.core.actors import Actor, Person, acting, person
from care.core.audit import audit_record, changes_between, snapshot
from care.core.errors import DomainError
from care.customers.models import Customer
from incidents.models import Incident, IncidentStatus

logger = logging.getLogger(__name__)

# The fields a new draft copies from the latest published version, so a coordinator edits instead of retyping.
_CARRIED_OVER = ("what_happened", "talking_points", "offer_notes", "what_not_to_say", "faq")
MAX_NOTE_LENGTH = 5000


def briefing_draft_start(*, incident_id: int, actor: Actor | None = None) -> IncidentBriefing:
    """The incident's draft briefing: the existing one, or a new one copied from the latest published version.

    A new incident's first draft starts from the incident's own "what happened" paragraph.
    """
    existing = IncidentBriefing.objects.filter(incident_id=incident_id, version__isnull=True).first()
    if existing is not None:
        return existing
    incident = Incident.objects.get(pk=incident_id)
    latest = (
        IncidentBriefing.objects.filter(incident_id=incident_id, version__isnull=False).order_by("-version").first()
    )
    fields = (
        {name: getattr(latest, name) for name in _CARRIED_OVER} if latest else {"what_happened": incident.explanation}
    )
    try:
        with transaction.atomic():
            draft = IncidentBriefing.objects.create(incident=incident, created_by=person(actor), **fields)
            audit_record(
                actor=acting(actor),
                action="briefing.draft_start",
                target=draft,
                details={"incident_id": incident_id, "from_version": latest.version if latest else None},
            )
            return draft
    except IntegrityError:
        # A colleague started the draft at the same moment: the database let one through; use theirs.
        return IncidentBriefing.objects.get(incident_id=incident_id, version__isnull=True)


# What a coordinator writes in a draft.
BRIEFING_DRAFT_FIELDS = ("what_happened", "talking_points", "offer_notes", "what_not_to_say", "faq", "change_note")


def briefing_draft_update(*, briefing_id: int, actor: Actor, **fields: str) -> IncidentBriefing:
    """Change the wording of a draft (a published version never changes); old and new text are audited."""
    unknown = sorted(set(fields) - set(BRIEFING_DRAFT_FIELDS))
    if unknown:
        raise DomainError(f"These briefing fields cannot be changed here: {', '.join(unknown)}.")
    with transaction.atomic():
        briefing = IncidentBriefing.objects.select_for_update().select_related("incident").get(pk=briefing_id)
        if briefing.is_published:
            raise DomainError(f"Version {briefing.version} is published and never changes: start a new draft.")
        before = snapshot(briefing, sorted(fields))
        for name, value in fields.items():
            setattr(briefing, name, value)
        briefing.full_clean()
        changes = changes_between(before, briefing, sorted(fields))
        if changes:
            briefing.save(update_fields=[*sorted(changes), "updated_at"])
            audit_record(actor=actor, action="briefing.draft_update", target=briefing, changes=changes)
    return briefing


def briefing_publish(
    *, briefing_id: int, actor: Actor | None = None, now: dt.datetime | None = None
) -> IncidentBriefing:
    """Publish a draft as the incident's next version, with the compensation policy as it stands now."""
    moment = now or timezone.now()
    with transaction.atomic():
        briefing = IncidentBriefing.objects.select_for_update().select_related("incident").get(pk=briefing_id)
        if briefing.is_published:
            raise DomainError(
                f"Version {briefing.version} of this briefing is already published; published versions are "
                "never changed. Start a new draft instead."
            )
        if not briefing.what_happened.strip():
            raise DomainError("A briefing needs “what happened” before reps can read it.")
        if briefing.incident.status in (IncidentStatus.DRAFT, IncidentStatus.CLOSED):
            raise DomainError(
                f"{briefing.incident.reference} is {briefing.incident.get_status_display().lower()}: "
                "briefings are published for open, monitored or resolved incidents."
            )
        # Lock the incident so two coordinators publishing at once get consecutive numbers; the unique
        # (incident, version) constraint is the backstop.
        Incident.objects.select_for_update().filter(pk=briefing.incident_id).values_list("pk", flat=True).get()
        latest = IncidentBriefing.objects.filter(incident_id=briefing.incident_id).aggregate(latest=Max("version"))
        briefing.version = (latest["latest"] or 0) + 1
        briefing.offer_text = "\n".join(offer_lines(incident_id=briefing.incident_id))
        briefing.published_at = moment
        briefing.published_by = person(actor)
        briefing.save(update_fields=["version", "offer_text", "published_at", "published_by", "updated_at"])
        audit_record(
            actor=acting(actor),
            action="briefing.publish",
            target=briefing,
            changes={"version": [None, briefing.version]},
            details={"incident_id": briefing.incident_id, "offer_text": briefing.offer_text},
            at=moment,
        )
    logger.info(
        "briefing %s published as version %s of incident %s", briefing.pk, briefing.version, briefing.incident_id
    )
    return briefing


def briefing_mark_read(*, briefing: IncidentBriefing, user: Person, now: dt.datetime | None = None) -> None:
    """Record the first time ``user`` opened this published version; a reload keeps the first time."""
    if not briefing.is_published:
        raise DomainError("Only a published briefing can be read by reps.")
    # One INSERT … ON CONFLICT DO NOTHING: two tabs opening the page at once cannot record two reads.
    BriefingRead.objects.bulk_create(
        [BriefingRead(briefing=briefing, incident_id=briefing.incident_id, user=user, read_at=now or timezone.now())],
        ignore_conflicts=True,
    )


def contact_note_add(
    *,
    customer_id: int,
    author: Person,
    text: str,
    promise: str = "",
    promised_by: dt.datetime | None = None,
    incident_id: int | None = None,
    now: dt.datetime | None = None,
) -> ContactNote:
    """A rep's note of a conversation with a customer and what was promised in it."""
    text, promise = text.strip(), promise.strip()
    if not text:
        raise DomainError("Write what was said in the conversation.")
    if len(text) > MAX_NOTE_LENGTH:
        raise DomainError(f"Keep the note under {MAX_NOTE_LENGTH} characters.")
    if promised_by is not None and not promise:
        raise DomainError("Say what was promised by that time.")
    if promised_by is not None and promised_by <= (now or timezone.now()):
        raise DomainError("A promise must be for a time still ahead.")
    if not Customer.objects.filter(pk=customer_id).exists():
        raise DomainError("This customer no longer exists.")
    if (
        incident_id is not None
        and not Incident.objects.filter(pk=incident_id, affected__customer_id=customer_id).exists()
    ):
        raise DomainError("That incident did not affect this customer.")
    with transaction.atomic():
        note = ContactNote.objects.create(
            customer_id=customer_id,
            author=author,
            text=text,
            promise=promise,
            promised_by=promised_by,
            incident_id=incident_id,
        )
        # The note is the record of the conversation; the entry says who added it, to whom, and any promise.
        audit_record(
            actor=author,
            action="contact_note.add",
            target=note,
            details={
                "customer_id": customer_id,
                "incident_id": incident_id,
                "promise": promise,
                "promised_by": promised_by,
            },
        )
    logger.info("contact note %s added to customer %s by user %s", note.pk, customer_id, author.pk)
    return note


def customer_page_view_record(*, customer_id: int, viewer: Person, now: dt.datetime | None = None) -> CustomerPageView:
    """Write down that ``viewer`` looked at the customer's page (ids only: no personal data in the log)."""
    return CustomerPageView.objects.create(customer_id=customer_id, viewer=viewer, viewed_at=now or timezone.now())
