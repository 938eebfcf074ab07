"""What a provider's answer means for one letter, whatever the channel: the email sender
(care.correspondence.sending) and the SMS backends (care.correspondence.sms.backends) speak these four words."""

from __future__ import annotations

# SENT: the provider has it. FAILED: never (invalid address or number, opted out). REQUEUE: not now, try again
# later. UNCONFIRMED: the provider may have it; do not send it again, wait for its tracking or status event.
SENT, FAILED, REQUEUE, UNCONFIRMED = "sent", "failed", "requeue", "unconfirmed"
