"""/sms/: the SMS provider's webhooks (see care.correspondence.sms.webhooks): 404 unless Twilio is configured."""

from __future__ import annotations

from django.urls import path

from care.correspondence.sms.webhooks import twilio_inbound, twilio_status

app_name = "sms"

urlpatterns = [
    path("twilio/status/", twilio_status, name="twilio-status"),
    path("twilio/inbound/", twilio_inbound, name="twilio-inbound"),
]
