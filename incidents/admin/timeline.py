"""The incident's timeline on its change form, and the customer updates' words in other languages.

A customer update is posted with its translations (one box per customer language); one posted without some
customers' language tells the coordinator at once how many customers wait and until when
(incidents.update_translations), and a translation added later (Updates in other languages) releases them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from care.core.actors import request_actor
from care.core.admin_base import WorkbenchAdmin
from care.core.errors import DomainError
from care.core.station_time import clock_label, station_time
from incidents.models import Audience, Incident, IncidentUpdate, IncidentUpdateTranslation
from incidents.promises import promise_contradiction
from incidents.services import incident_post_update, incident_update_translation_save
from incidents.update_translations import (
    hold_ends_at,
    language_name,
    other_languages,
    waiting_for_translation,
    waiting_message,
)

# The form's box for each customer language an update is translated into: "text_fr".
TRANSLATION_FIELDS = {code: f"text_{code}" for code in other_languages()}


class _UpdateFormBase(forms.ModelForm):
    """A new timeline entry; a customer update's words must not name another time than its promise."""

    class Meta:
        model = IncidentUpdate
        fields = ("audience", "text", "next_update_due_at")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        incident = getattr(self.instance, "incident", None)  # the inline formset sets it, saved or not
        if cleaned.get("audience") == Audience.CUSTOMERS and cleaned.get("text") and incident is not None:
            # Without a promise of its own the update keeps the incident's (as incident_post_update does).
            promise = cleaned.get("next_update_due_at") or incident.next_update_due_at
            problem = promise_contradiction(text=cleaned["text"], promise=promise, place=incident)
            if problem:
                self.add_error("text", problem)
        return cleaned

    def translations(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(name) or "" for code, name in TRANSLATION_FIELDS.items()}


IncidentUpdateForm: type[_UpdateFormBase] = type(
    "IncidentUpdateForm",
    (_UpdateFormBase,),
    {
        name: forms.CharField(
            label=f"in {language_name(code)}",
            required=False,
            widget=forms.Textarea(attrs={"rows": 2, "cols": 30}),
            help_text="For customers who read it (a customer update).",
        )
        for code, name in TRANSLATION_FIELDS.items()
    },
)


def _translation_column(code: str) -> Any:
    @admin.display(description=f"in {language_name(code)}")
    def column(inline: Any, obj: IncidentUpdate) -> str:
        if not obj.pk:
            return "—"
        return next((row.text for row in obj.translations.all() if row.language == code), "—")

    return column


class IncidentUpdateInline(admin.TabularInline):
    """The timeline: past entries are history and stay as written; new ones go through the service.

    Times are on the incident's station clock (the change form runs on it), the promise in UTC beside it.
    """

    model = IncidentUpdate
    form = IncidentUpdateForm
    extra = 1
    fields = (
        "posted",
        "audience",
        "text",
        *TRANSLATION_FIELDS.values(),
        "next_update_due_at",
        "promise_in_utc",
        "author",
    )
    readonly_fields = ("posted", "promise_in_utc", "author")
    ordering = ("-posted_at", "-id")
    verbose_name_plural = "timeline (add an update; a customer update's promise becomes the next update due)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentUpdate]:
        # Each row's name tells the station's time; its translations show beside it.
        return super().get_queryset(request).select_related("incident").prefetch_related("translations")

    def get_formset(self, request: HttpRequest, obj: Incident | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # The column says whose clock the promise is typed and shown on (the header of a view-only inline is
        # the form's Meta label; the form class is made for this request, so it is ours to label).
        label = f"next update promised by ({clock_label(obj)})"
        formset.form._meta.labels = {**(formset.form._meta.labels or {}), "next_update_due_at": label}
        if "next_update_due_at" in formset.form.base_fields:
            formset.form.base_fields["next_update_due_at"].label = label
        return formset

    @admin.display(description="posted")
    def posted(self, obj: IncidentUpdate) -> str:
        return station_time(obj.posted_at, obj.incident) if obj.pk else "—"

    @admin.display(description="promise in UTC")
    def promise_in_utc(self, obj: IncidentUpdate) -> str:
        return station_time(obj.next_update_due_at) if obj.pk and obj.next_update_due_at else "—"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# A posted row is shown read-only: each language's box becomes the translation it was posted with.
for _code, _name in TRANSLATION_FIELDS.items():
    setattr(IncidentUpdateInline, _name, _translation_column(_code))


def timeline_save(request: HttpRequest, incident: Incident, formset: Any) -> None:
    """Post the new timeline entries through the service; say at once who waits for a translation."""
    entries = {id(entry) for entry in formset.save(commit=False)}  # the new rows, unsaved (and the admin's log)
    for form in formset.extra_forms:
        if id(form.instance) not in entries:
            continue
        entry = form.instance
        audience = entry.audience
        try:
            update = incident_post_update(
                incident=incident,
                audience=audience,
                text=entry.text,
                author=request_actor(request),
                next_update_due_at=entry.next_update_due_at,
                translations=form.translations() if audience == Audience.CUSTOMERS else None,
            )
        except DomainError as exc:
            messages.error(request, f"Update not posted: {exc}")
            continue
        waiting = waiting_for_translation(update)
        if waiting and timezone.now() < hold_ends_at(update):
            add = reverse("admin:incidents_incidentupdatetranslation_add") + f"?update={update.pk}"
            messages.warning(
                request,
                format_html(
                    '{} <a href="{}">Add a translation</a>.',
                    waiting_message(incident=incident, update=update, waiting=waiting),
                    add,
                ),
            )


class UpdateTranslationForm(forms.ModelForm):
    class Meta:
        model = IncidentUpdateTranslation
        fields = ("update", "language", "text")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = self.fields.get("language")
        if isinstance(language, forms.ChoiceField):  # the customer languages an update is translated into
            language.choices = [(code, name) for code, name in settings.LANGUAGES if code in TRANSLATION_FIELDS]
        update = self.fields.get("update")
        if isinstance(update, forms.ModelChoiceField):  # customer updates with news: the others are not translated
            update.queryset = IncidentUpdate.objects.filter(audience=Audience.CUSTOMERS, no_news=False)

    def validate_unique(self) -> None:
        return None  # a second translation in the same language corrects the first (the service decides)


@admin.register(IncidentUpdateTranslation)
class IncidentUpdateTranslationAdmin(WorkbenchAdmin):
    """A customer update's words in another language, added after it was posted: the customers held for them
    get their letter at the next kept-promises sweep. Written by the service, audited on the incident."""

    form = UpdateTranslationForm
    list_display = ("update", "language", "text")
    list_select_related = ("update__incident",)
    list_filter = ("language",)
    search_fields = ("update__incident__reference", "text")
    raw_id_fields = ("update",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the letters that quoted it are history

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:  # the service refuses (a closed incident): nothing is saved, and the coordinator reads why
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, f"Nothing was saved: {exc}")
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: IncidentUpdateTranslation, form: Any, change: bool) -> None:
        update = incident_update_translation_save(
            update_id=obj.update_id, language=obj.language, text=obj.text, actor=request_actor(request)
        )
        stored = IncidentUpdateTranslation.objects.get(update=update, language=obj.language)
        obj.pk = stored.pk
        obj._state.adding = False
