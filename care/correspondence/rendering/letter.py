"""``render_letter``: one letter rendered from a template and its context, or refused with every reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.base import VariableDoesNotExist
from django.utils import translation
from django.utils.safestring import mark_safe

from care.core.errors import DomainError
from care.correspondence.models.letters import Letter, LetterKind
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.rendering.engine import render_source, tidy, unknown_variables
from care.correspondence.rendering.kinds import KINDS_NEEDING_EXPLANATION
from care.correspondence.rendering.layout import html_document, html_from_text

PART_KEYS = ("acknowledgement", "explanation", "remedy")
SUBJECT_MAX = Letter._meta.get_field("subject").max_length or 255

_PLAIN_TYPES = (str, int, float, bool, Decimal, type(None))
_PLAIN_EXACT = frozenset(_PLAIN_TYPES)


class LetterRenderError(DomainError):
    """A letter that could not be rendered; ``reasons`` are short sentences a coordinator can act on."""

    def __init__(self, reasons: Sequence[str], *, customer_reference: str = "", customer_name: str = "") -> None:
        self.reasons = list(reasons)
        self.customer_reference = customer_reference
        who = f"customer {customer_reference}" if customer_reference else "this customer"
        if customer_name:
            who += f" ({customer_name})"
        super().__init__(f"The letter for {who} was not rendered and will not be sent: {' '.join(self.reasons)}")


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    body_text: str
    body_html: str
    parts: dict[str, str]
    template_id: int | None
    template_version: int


def _require_plain(value: Any, path: str = "context") -> None:
    kind = type(value)
    if kind in _PLAIN_EXACT:  # the common case, without the (slow) Mapping ABC check
        return
    if kind is dict:
        for key, item in value.items():
            if type(item) not in _PLAIN_EXACT:
                _require_plain(item, f"{path}.{key}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _require_plain(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _require_plain(item, f"{path}.{index}")
    elif not isinstance(value, _PLAIN_TYPES):
        raise TypeError(f"{path} is a {type(value).__name__}: letter templates get plain data only.")


def _missing_facts(context: Mapping[str, Any], kind: str) -> list[str]:
    reasons = []
    if not str(context.get("customer", {}).get("name", "")).strip():
        reasons.append("The customer has no name on file, so the letter cannot address them.")
    if not str(context.get("flight", {}).get("label", "")).strip():
        reasons.append("No flight is recorded for this customer.")
    if kind in KINDS_NEEDING_EXPLANATION and not str(context.get("incident", {}).get("explanation", "")).strip():
        reasons.append("The incident has no explanation for customers yet: write what happened first.")
    if kind == LetterKind.VOUCHER and not context.get("vouchers"):
        reasons.append("The customer has no issued voucher, so there is nothing for a voucher letter to give.")
    return reasons


def render_letter(*, template: LetterTemplate, context: Mapping[str, Any]) -> RenderedLetter:
    """Render ``template`` for one customer, or raise ``LetterRenderError`` with every reason it cannot be sent."""
    _require_plain(context)
    customer = context.get("customer", {})
    kind = str(context.get("kind") or template.kind)
    language = str(context.get("language") or template.language)
    reasons = _missing_facts(context, kind)
    subject = body_text = body_html = ""
    parts: dict[str, str] = {}
    try:
        with translation.override(language):
            parts = {key: tidy(render_source(getattr(template, f"part_{key}"), context)) for key in PART_KEYS}
            body_context = {**context, "parts": parts}
            subject = " ".join(render_source(template.subject, body_context).split())
            body_text = tidy(render_source(template.body_text, body_context))
            if template.body_html.strip():
                body_html = render_source(template.body_html, body_context, html=True)
    except TemplateSyntaxError as exc:
        reasons.append(f"The template “{template}” has an error: {exc}.")
    except (TemplateDoesNotExist, VariableDoesNotExist, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        reasons.append(f"The template “{template}” could not be rendered: {exc}.")
    else:
        unknown = unknown_variables(subject, body_text, body_html, *parts.values())
        reasons += [f"The template “{template}” uses {{{{ {name} }}}}, which letters do not have." for name in unknown]
        if not subject:
            reasons.append(f"The template “{template}” gives an empty subject.")
        elif len(subject) > SUBJECT_MAX:
            reasons.append(
                f"The subject is {len(subject)} characters long; an email subject takes at most {SUBJECT_MAX}."
            )
        if not body_text:
            reasons.append(f"The template “{template}” gives an empty letter.")
    if reasons:
        raise LetterRenderError(
            reasons, customer_reference=str(customer.get("reference", "")), customer_name=str(customer.get("name", ""))
        )
    if not body_html:
        body_html = html_document(content=html_from_text(body_text), subject=subject, language=language)
    elif "<html" not in body_html.lower():
        body_html = html_document(content=mark_safe(body_html), subject=subject, language=language)  # noqa: S308
    return RenderedLetter(
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        parts=parts,
        template_id=template.pk,
        template_version=template.version,
    )
