"""Issue 15 in a real Chromium: a rep opens a phone-only customer's page and the briefing after the first-notice
sweep, and the customer opens their apology from the link in their SMS. Screenshots go to var/test-artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from care.correspondence.default_templates import default_templates_install
from care.correspondence.models.letters import Channel, Letter, LetterKind, LetterStatus
from care.correspondence.models.sms import SmsOutboxMessage
from care.correspondence.services import letters_prepare
from care.operations.sweeps import sweep_first_notices
from incidents.models import Incident, IncidentStatus
from tests.factories import AffectedCustomerFactory, CustomerFactory
from tests.factories_briefings import open_incident, published_briefing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_outboxes")]

PASSWORD = "correct horse battery staple"  # UserFactory's


def test_a_rep_sees_the_sms_a_phone_only_customer_got_and_the_customer_reads_their_apology(
    browser_page: Any, rep: Any, coordinator: Any, artifacts_dir: Any, django_capture_on_commit_callbacks: Any
) -> None:
    default_templates_install(django_apps)  # a transactional test before this one flushed the migrated ones
    incident = open_incident(title="Blizzard closes Newark", stations="EWR", flights="UA 1545")
    published_briefing(incident, actor=coordinator, talking_points="Apologise first.", change_note="First.")
    customer = CustomerFactory.create(name="Lucia Gomez", preferred_name="Lucia", email="", language="es")
    AffectedCustomerFactory.create(customer=customer, incident=incident, booking_reference="ZK4Q9M", cancelled=True)
    AffectedCustomerFactory.create(incident=incident, booking_reference="ZK4Q9N")
    with django_capture_on_commit_callbacks(execute=True):
        sweep_first_notices(now=timezone.now())
    (text,) = SmsOutboxMessage.objects.filter(to=customer.phone).values_list("body", flat=True)

    page = browser_page
    page.goto("/briefings/")
    page.get_by_label("Username").fill(rep.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/briefings/$"))

    page.goto(f"/briefings/customers/{customer.pk}/")
    letters = page.locator("#letters")
    assert "SMS to " + customer.phone in letters.inner_text()
    letters.locator("summary", has_text="The text").click()
    assert text in letters.inner_text()
    page.screenshot(path=str(artifacts_dir / "customer_sms.png"), full_page=True)

    page.goto(f"/briefings/incidents/{incident.reference}/")
    facts = page.locator(".live-facts").inner_text()
    assert re.search(r"Letters by SMS\s+1: 1 sent", facts, re.IGNORECASE), facts
    assert re.search(r"Letters by Email\s+1: 1 sent", facts, re.IGNORECASE), facts
    page.screenshot(path=str(artifacts_dir / "briefing_channels.png"), full_page=True)

    # After the resolution, her apology: the SMS carries the link to the letter, shown once it has been sent.
    Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.RESOLVED)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, actor=coordinator)
    apology = Letter.objects.get(customer=customer, kind=LetterKind.APOLOGY)
    assert apology.channel == Channel.SMS
    Letter.objects.filter(pk=apology.pk).update(status=LetterStatus.SENT)
    link = re.search(r"https?://\S+/l/\S+/", apology.sms_body)
    assert link is not None
    customer_page = page.context.browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    phone = customer_page.new_page()
    phone.goto(browser_page.url.split("/briefings/")[0] + link.group(0).split("8000", 1)[1])
    assert apology.subject in phone.locator("h1").inner_text()
    assert "Lucia" in phone.locator("article").inner_text()
    assert phone.locator("html").get_attribute("lang") == "es"
    phone.screenshot(path=str(artifacts_dir / "letter_page_phone.png"), full_page=True)
    customer_page.close()
