"""Phone numbers in one form, E.164 (+12125550123), so that a provider's "From" finds the customer it is."""

from __future__ import annotations

import phonenumbers


def e164(raw: str, *, region: str | None = None) -> str | None:
    """``raw`` as E.164, or None when it is no valid number.

    Without ``region`` the number must be international (a leading +), as providers post them; a national
    number is read in ``region`` (an ISO country code such as "US").
    """
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
