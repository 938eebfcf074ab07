"""Issue 15's demo: the phone-only customers of the blizzard hear from us by SMS, in their language, within the
same five minutes as everyone else; a hard bounce moves a customer's next update to SMS; a STOP silences them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import F
from django.urls import reverse
from twilio.request_validator import RequestValidator

from care.correspondence.models.letters import Channel, Letter, LetterKind, LetterStatus, OutboxMessage
from care.correspondence.models.sms import SmsOutboxMessage
from care.correspondence.selectors import first_notice_latency
from care.correspondence.sms.texts import WORDINGS
from care.customers.models import Customer
from care.operations.demo import demo_scenario_load
from care.operations.sweeps import sweep_first_notices, sweep_kept_promises
from incidents.models import AffectedCustomer, Incident
from tests.clock import Clock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_outboxes")]

START = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)  # 10:00 in New York, as the letters' snapshot
FIRST_NOTICE_TARGET = dt.timedelta(minutes=5)
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
INBOUND_URL = "http://testserver/sms/twilio/inbound/"
# The first words of each language's SMS first notice, warm (by name) or compact.
OPENINGS = {
    "en": ("Hello ", "Sorry: your flight"),
    "es": ("Hola ", "Lo sentimos"),
    "fr": ("Bonjour ", "Désolés", "Desoles"),
    "de": ("Guten Tag ", "Entschuldigung", "Ihr Flug"),
}


def test_phone_only_demo_customers_get_their_first_notice_by_sms_in_their_language_within_five_minutes(
    clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    clock.at(START)
    demo_scenario_load(passengers_per_flight=1)
    # The beat runs the sweep every minute: its first run after the load.
    now = clock.at(START + dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_first_notices(now=now)

    phone_only = Customer.objects.filter(email="")
    assert phone_only.count() >= 10
    assert set(phone_only.values_list("language", flat=True)) == {"en", "es", "fr", "de"}
    notices = Letter.objects.filter(kind=LetterKind.INITIAL_NOTICE, combined_into__isnull=True)
    for customer in phone_only:
        (notice,) = notices.filter(customer=customer)
        assert (notice.channel, notice.status) == (Channel.SMS, LetterStatus.SENT), notice.check_reasons
        (message,) = SmsOutboxMessage.objects.filter(letter=notice)
        assert (message.to, message.body) == (customer.phone, notice.sms_body)
        assert message.body.startswith(OPENINGS[customer.language]), message.body
        assert "STOP" in message.body
        assert notice.affected is not None
        assert notice.affected.booking_reference in message.body
    # Customers who prefer SMS get it too; everyone else gets email, and nobody gets both.
    assert notices.filter(channel=Channel.SMS, customer__preferred_channel="sms").exists()
    assert not OutboxMessage.objects.filter(to="").exists()
    assert SmsOutboxMessage.objects.count() == notices.filter(channel=Channel.SMS).count()
    assert OutboxMessage.objects.count() == notices.filter(channel=Channel.EMAIL).count()
    # Everyone, by either channel, within the five minutes.
    late = notices.filter(sent_at__gt=F("affected__created_at") + FIRST_NOTICE_TARGET)
    assert not late.exists()
    # Every passenger row was reached (a customer on two incidents by one letter covering both), in time.
    rows = AffectedCustomer.objects.all()
    assert not rows.filter(first_contacted_at__isnull=True).exists()
    assert not rows.filter(first_contacted_at__gt=F("created_at") + FIRST_NOTICE_TARGET).exists()
    sms_rows = rows.filter(customer__email="")
    assert sms_rows.count() >= phone_only.count()
    for incident in Incident.objects.filter(affected__customer__email="").distinct():
        latency = first_notice_latency(incident.pk)
        assert latency.max_seconds is not None
        assert latency.max_seconds <= FIRST_NOTICE_TARGET.total_seconds()
    assert set(WORDINGS) == set(OPENINGS)


def test_in_the_demo_a_hard_bounce_moves_the_next_update_to_sms_and_a_stop_silences_a_customer(
    clock: Clock, client: Any, coordinator_client: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN  # the inbound webhook answers only with the provider configured
    clock.at(START)
    demo_scenario_load(passengers_per_flight=1)
    now = clock.at(START + dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_first_notices(now=now)
    notices = Letter.objects.filter(kind=LetterKind.INITIAL_NOTICE, combined_into__isnull=True, status="sent")
    bounced = notices.filter(channel=Channel.EMAIL).order_by("pk")[0].customer
    stopped = notices.filter(channel=Channel.SMS, customer__email="").order_by("pk")[0].customer

    # The coordinator simulates a hard bounce of the bounced customer's notice in the outbox.
    message = OutboxMessage.objects.get(to=bounced.email)
    with django_capture_on_commit_callbacks(execute=True):
        coordinator_client.post(
            reverse("admin:care_outboxmessage_changelist"),
            {"action": "simulate_hard_bounce", ACTION_CHECKBOX_NAME: [message.pk]},
        )
    # The phone-only customer answers STOP.
    params = {"From": stopped.phone, "Body": "STOP"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(INBOUND_URL, params)
    assert client.post(INBOUND_URL, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200

    # The promised updates fall due.
    due = max(due for due in Incident.objects.values_list("next_update_due_at", flat=True) if due is not None)
    now = clock.at(due + dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_kept_promises(now=now)

    updates = Letter.objects.filter(kind=LetterKind.UPDATE, combined_into__isnull=True)
    (bounced_update, *_) = updates.filter(customer=bounced).order_by("pk")
    assert (bounced_update.channel, bounced_update.status) == (Channel.SMS, LetterStatus.SENT)
    assert SmsOutboxMessage.objects.filter(letter=bounced_update, to=bounced.phone).count() == 1
    assert OutboxMessage.objects.filter(to=bounced.email).count() == 1  # nothing more to the address that bounced
    held = updates.filter(customer=stopped)
    assert set(held.values_list("channel", "status")) == {(Channel.SMS, LetterStatus.SUPPRESSED)}
    assert all("texted STOP" in reason for reason in held.values_list("last_error", flat=True))
    assert SmsOutboxMessage.objects.filter(to=stopped.phone).count() == 1  # the notice before the STOP only
