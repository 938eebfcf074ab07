"""Which template a letter is rendered with: the active one of its kind in the customer's language, else English."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from care.core.errors import DomainError
from care.correspondence.models.letters import LetterKind
from care.correspondence.models.templates import LetterTemplate


class NoActiveTemplate(DomainError):
    pass


def template_pick(templates: Iterable[LetterTemplate], *, kind: str, language: str) -> LetterTemplate | None:
    """The template of ``kind`` in ``language`` among ``templates`` (already loaded), else the English one."""
    by_language = {template.language: template for template in templates if template.kind == kind}
    return by_language.get(language) or by_language.get(settings.LANGUAGE_CODE)


def no_template_error(kind: str, language: str) -> NoActiveTemplate:
    kind_label = LetterKind(kind).label if kind in LetterKind.values else kind
    return NoActiveTemplate(
        f"There is no active “{kind_label}” template in {language} or in English: add one under Letter templates."
    )


def template_for(*, kind: str, language: str) -> LetterTemplate:
    """The active template of ``kind`` in ``language``, else the active English one."""
    candidates = LetterTemplate.objects.filter(
        kind=kind, is_active=True, language__in={language, settings.LANGUAGE_CODE}
    )
    chosen = template_pick(candidates, kind=kind, language=language)
    if chosen is None:
        raise no_template_error(kind, language)
    return chosen
