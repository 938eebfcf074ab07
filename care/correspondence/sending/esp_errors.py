"""What the ESP's errors and answers mean: retry later, never, or perhaps sent; and its words for the coordinator."""

from __future__ import annotations

from http import HTTPStatus

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailSerializationError,
    AnymailUnsupportedFeature,
)

from care.correspondence.sending.outcomes import FAILED, REQUEUE, UNCONFIRMED

# What is kept of an ESP's error message in Letter.last_error.
REASON_MAX = 1000

ACCEPTED_STATUSES = frozenset({"sent", "queued", "unknown"})  # "unknown": accepted, no per-recipient detail
REFUSED_STATUSES = frozenset({"invalid", "rejected", "failed"})


class TransientSendError(Exception):
    """The ESP could not take the letters now; they are QUEUED again and the task retries later."""


def _reason(exc: BaseException) -> str:
    """The ESP's own words for a refusal, for the coordinator (Letter.last_error), never for the logs."""
    esp = getattr(exc, "esp_name", None) or "The email provider"
    try:
        text = str(exc)
    except Exception:  # AnymailError.__str__ needs the HTTP response when a status code is set
        text = " ".join(str(arg) for arg in exc.args) or type(exc).__name__
    return f"{esp}: {text}"[:REASON_MAX]


def classify_error(exc: BaseException) -> str:  # noqa: PLR0911 - one verdict per kind of failure
    """REQUEUE for "try again later", FAILED for "never", UNCONFIRMED when the ESP may have the message."""
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        if status is not None:
            if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                return REQUEUE
            if HTTPStatus.BAD_REQUEST <= status < HTTPStatus.INTERNAL_SERVER_ERROR:
                return FAILED
            return UNCONFIRMED  # a 2xx whose answer could not be read: it was probably accepted
        # anymail's requests-based backends raise an exception that is also the requests exception.
        if isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout):
            return UNCONFIRMED  # the request went out and no answer came back in time
        if isinstance(exc, requests.ConnectionError):
            return REQUEUE
        return UNCONFIRMED
    if isinstance(exc, (AnymailRecipientsRefused, AnymailInvalidAddress)):
        return FAILED
    if isinstance(exc, (AnymailUnsupportedFeature, AnymailSerializationError)):
        return FAILED  # the message could not be built, so it never left
    return UNCONFIRMED
