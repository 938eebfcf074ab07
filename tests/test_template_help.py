"""The template editor's help names every variable a letter template may use, and new default wording reaches the
templates nobody edited (care.correspondence.rendering.variables, care.correspondence.default_templates)."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from care.correspondence.default_templates import DEFAULT_TEMPLATES, default_templates_upgrade, wording_digest
from care.correspondence.models.letters import LetterKind
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.rendering.context import letter_context
from care.correspondence.rendering.variables import TEMPLATE_VARIABLES, documented_names
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", [LetterKind.INITIAL_NOTICE, LetterKind.UPDATE, LetterKind.APOLOGY])
def test_the_help_names_every_key_of_the_context(clock: Clock, kind: str) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    context = letter_context(affected=AffectedCustomerFactory.create(), kind=kind)

    assert set(context) | {"parts"} <= documented_names()
    assert {"combined", "also_open", "flight_labels"} <= set(context)


def test_the_template_editor_shows_the_help(coordinator_client: Any) -> None:
    template = LetterTemplate.objects.get(kind=LetterKind.UPDATE, language="en", is_active=True)

    page = coordinator_client.get(reverse("admin:care_lettertemplate_change", args=[template.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "What a template may use" in text
    for variable in TEMPLATE_VARIABLES:
        assert f"<code>{variable.name}</code>" in text


def test_new_default_wording_reaches_only_the_templates_nobody_edited() -> None:
    untouched = LetterTemplate.objects.get(kind=LetterKind.UPDATE, language="en", is_active=True)
    edited = LetterTemplate.objects.get(kind=LetterKind.UPDATE, language="fr", is_active=True)
    # As if the shipped wording were an older one: the digest the upgrade is told was shipped.
    LetterTemplate.objects.filter(pk=untouched.pk).update(body_text="Dear {{ customer.name }}, old wording.")
    untouched.refresh_from_db()
    LetterTemplate.objects.filter(pk=edited.pk).update(body_text="Bonjour, mots du coordinateur.")
    shipped: dict[tuple[str, str], str] = {
        (LetterKind.UPDATE, "en"): wording_digest(untouched),
        (LetterKind.UPDATE, "fr"): "another wording",
    }

    assert default_templates_upgrade(django_apps, replaced=shipped) == 1
    assert default_templates_upgrade(django_apps, replaced=shipped) == 0

    active = LetterTemplate.objects.get(kind=LetterKind.UPDATE, language="en", is_active=True)
    default = next(item for item in DEFAULT_TEMPLATES if (item.kind, item.language) == (LetterKind.UPDATE, "en"))
    assert (active.version, active.body_text) == (untouched.version + 1, default.body_text)
    assert LetterTemplate.objects.get(pk=untouched.pk).is_active is False
    assert LetterTemplate.objects.get(kind=LetterKind.UPDATE, language="fr", is_active=True).pk == edited.pk
