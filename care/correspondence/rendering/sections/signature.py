"""The signature section: who signs the letter (the incident's owner and the care team) and how to reach us."""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings

from care.correspondence.phrases import phrases_for
from incidents.models import Incident


def signature_section(incident: Incident, *, language: str) -> dict[str, dict[str, str]]:
    """The ``sender`` and ``contact`` keys of the context. A letter of an incident without an owner is signed
    by the team alone (``sender.name`` is "")."""
    owner = incident.owner if incident.owner_id else None
    return {
        "sender": {"name": owner.get_full_name() if owner else "", "team": phrases_for(language).team},
        "contact": {
            "phone": str(getattr(settings, "CARE_CONTACT_PHONE", "")),
            # The address our letters come from, which customer care reads: where to write without an email to reply to.
            "email": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        },
    }
