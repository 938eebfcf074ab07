from __future__ import annotations

from typing import Any

from django import forms

from care.briefings.services import MAX_NOTE_LENGTH
from incidents.models import Incident


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label="Name, email, phone, booking reference, customer reference or voucher code",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "spellcheck": "false"}),
    )


class ContactNoteForm(forms.Form):
    text = forms.CharField(
        label="What was said",
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The conversation in a few lines: what the customer asked, what you told them.",
    )
    promise = forms.CharField(
        label="What you promised (if anything)",
        max_length=500,
        required=False,
        help_text="E.g. “a call back with the new flight”. Leave empty if nothing was promised.",
    )
    promised_by = forms.DateTimeField(
        label="Promised by (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    # Choices from the incidents already loaded for the page, so the form costs no query of its own.
    incident = forms.TypedChoiceField(label="About the incident", coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, incidents: list[Incident] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["incident"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "(none)")] + [
            (incident.pk, f"{incident.reference}: {incident.title}") for incident in incidents or []
        ]
