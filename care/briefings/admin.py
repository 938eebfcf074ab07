"""Briefings, contact notes and customer page views in the coordinator's workbench.

A coordinator writes the draft briefing here and publishes it; a published version is read-only for ever
(changes go into a new draft, started from it). Contact notes are written by reps on the frontline pages and
only read here, inline on the customer too. Customer page views are the trace of who looked at whom.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from care.briefings.models import BriefingRead, ContactNote, CustomerPageView, IncidentBriefing
from care.briefings.offers import offer_lines
from care.briefings.selectors import briefing_readers
from care.briefings.services import BRIEFING_DRAFT_FIELDS, briefing_draft_start, briefing_draft_update, briefing_publish
from care.core.actors import request_actor
from care.core.admin_base import (
    ReadOnlyAdminMixin,
    StationClockAdminMixin,
    WorkbenchAdmin,
    admin_link,
    run_service,
    station_clock_column,
)
from care.core.errors import DomainError
from incidents.models import Incident

EDITABLE_FIELDS = ("what_happened", "talking_points", "offer_notes", "what_not_to_say", "faq", "change_note")


class BriefingStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("draft", "Drafts"), ("published", "Published")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[IncidentBriefing]) -> QuerySet[IncidentBriefing]:
        if self.value() == "draft":
            return queryset.filter(version__isnull=True)
        if self.value() == "published":
            return queryset.filter(version__isnull=False)
        return queryset


class BriefingForm(forms.ModelForm):
    class Meta:
        model = IncidentBriefing
        fields = ("incident", *EDITABLE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        incident = cleaned.get("incident")
        # The one-draft rule involves `version`, which is not on the form, so Django would not check it.
        if (
            incident is not None
            and self.instance.pk is None
            and IncidentBriefing.objects.filter(incident=incident, version__isnull=True).exists()
        ):
            raise forms.ValidationError("This incident already has a draft briefing: edit that one.")
        return cleaned


class BriefingReadInline(admin.TabularInline):
    model = BriefingRead
    extra = 0
    can_delete = False
    fields = ("user", "read_at")
    readonly_fields = fields
    ordering = ("read_at",)
    verbose_name_plural = "reps who opened this version"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IncidentBriefing)
class IncidentBriefingAdmin(StationClockAdminMixin, WorkbenchAdmin):
    form = BriefingForm
    list_display = ("incident_reference", "version_display", "change_note", "published", "published_by", "reads")
    station_lookup = "incident__stations"  # the briefing, its publication and its readers on the station's clock
    list_select_related = ("incident", "published_by")
    list_filter = (BriefingStateFilter,)
    search_fields = ("=incident__reference",)
    search_help_text = "Incident reference, e.g. INC-20130208-0001."
    raw_id_fields = ("incident",)
    ordering = ("-id",)
    actions = ("publish", "start_new_draft")
    inlines = (BriefingReadInline,)
    readonly_fields = (
        "version",
        "offer_text",
        "published_at",
        "published_by",
        "created_by",
        "not_read_by",
        "frontline_link",
        "offer_preview",
    )
    change_form_template = "admin/care/incidentbriefing/change_form.html"
    published = station_clock_column("published_at", description="published at")

    class Media:
        css = {"all": ("care/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentBriefing]:
        return super().get_queryset(request).annotate(read_count=Count("reads"))

    def get_fieldsets(self, request: HttpRequest, obj: IncidentBriefing | None = None) -> Any:
        published = obj is not None and obj.is_published
        sections: list[Any] = [
            (None, {"fields": ("incident", "frontline_link") if obj else ("incident",)}),
            ("For reps", {"fields": EDITABLE_FIELDS}),
        ]
        if published:
            sections.append(
                ("Publication", {"fields": ("version", "published_at", "published_by", "offer_text", "not_read_by")})
            )
        elif obj is not None:
            sections.append(("What we are offering", {"fields": ("offer_preview",)}))
        return sections

    def get_inlines(self, request: HttpRequest, obj: IncidentBriefing | None) -> Any:
        # Only a published version has readers.
        return self.inlines if obj is not None and obj.is_published else ()

    def get_readonly_fields(self, request: HttpRequest, obj: IncidentBriefing | None = None) -> Any:
        if obj is not None:
            # The incident of a briefing never changes; a published version never changes at all.
            fields = (*self.readonly_fields, "incident")
            return (*fields, *EDITABLE_FIELDS) if obj.is_published else fields
        return ()

    def has_change_permission(self, request: HttpRequest, obj: IncidentBriefing | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: IncidentBriefing | None = None) -> bool:
        # Reps' reads point at published versions; only a draft may go.
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("care.publish_incidentbriefing")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        # "Add" with ?incident=<id> opens the incident's draft, started from its latest version.
        incident = request.GET.get("incident", "")
        if request.method == "GET" and incident.isdigit() and self.has_add_permission(request):
            try:
                draft = briefing_draft_start(incident_id=int(incident), actor=request_actor(request))
            except Incident.DoesNotExist:
                messages.error(request, "No such incident.")
            else:
                return HttpResponseRedirect(reverse("admin:care_incidentbriefing_change", args=[draft.pk]))
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: IncidentBriefing, form: Any, change: bool) -> None:
        actor = request_actor(request)
        names = form.changed_data if change else form.cleaned_data
        wording = {name: form.cleaned_data[name] for name in names if name in BRIEFING_DRAFT_FIELDS}
        # A new draft is started (and audited) like the "write the next version" link does, then written.
        briefing_id = obj.pk if change else briefing_draft_start(incident_id=obj.incident_id, actor=actor).pk
        saved = briefing_draft_update(briefing_id=briefing_id, actor=actor, **wording)
        obj.pk = saved.pk
        obj._state.adding = False

    def response_change(self, request: HttpRequest, obj: IncidentBriefing) -> HttpResponse:
        if "_publish" in request.POST:
            if not self.has_publish_permission(request):
                messages.error(request, "You may save the draft but not publish it.")
            else:
                try:
                    published = briefing_publish(briefing_id=obj.pk, actor=request_actor(request))
                except DomainError as exc:
                    messages.error(request, str(exc))
                else:
                    messages.success(request, f"Published as version {published.version}; reps see it now.")
                    return HttpResponseRedirect(reverse("admin:care_incidentbriefing_change", args=[obj.pk]))
        return super().response_change(request, obj)

    def response_add(self, request: HttpRequest, obj: IncidentBriefing, post_url_continue: str | None = None) -> Any:
        if "_publish" in request.POST:
            return self.response_change(request, obj)
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="incident", ordering="incident__reference")
    def incident_reference(self, obj: IncidentBriefing) -> str:
        return admin_link(obj.incident, obj.incident.reference)

    @admin.display(description="version", ordering="version")
    def version_display(self, obj: IncidentBriefing) -> str:
        return f"v{obj.version}" if obj.version else "draft"

    @admin.display(description="reps who read it", ordering="read_count")
    def reads(self, obj: IncidentBriefing) -> int:
        return obj.read_count  # type: ignore[attr-defined]

    @admin.display(description="not read yet by")
    def not_read_by(self, obj: IncidentBriefing) -> str:
        if not obj.is_published:
            return "—"
        missing = [row for row in briefing_readers(briefing=obj) if row.read_at is None]
        if not missing:
            return "Every frontline rep has opened this version."
        return format_html_join(", ", "{}", ((row.full_name or row.username,) for row in missing))

    @admin.display(description="as reps see it")
    def frontline_link(self, obj: IncidentBriefing) -> str:
        url = reverse("briefings:briefing", args=[obj.incident.reference])
        frontline = format_html('<a href="{}">Open the frontline briefing for {}</a>', url, obj.incident.reference)
        if not obj.is_published:
            return frontline
        next_url = reverse("admin:care_incidentbriefing_add") + f"?incident={obj.incident_id}"
        return format_html('{} · <a href="{}">Write the next version</a>', frontline, next_url)

    @admin.display(description="from the compensation policy")
    def offer_preview(self, obj: IncidentBriefing) -> str:
        lines = offer_lines(incident_id=obj.incident_id)
        intro = "Taken from the policy when you publish; as it stands now:"
        return format_html("{}<br>{}", intro, format_html_join(mark_safe("<br>"), "• {}", ((line,) for line in lines)))

    @admin.action(description="Publish the selected drafts to frontline reps", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[IncidentBriefing]) -> None:
        def call() -> int:
            count = 0
            for briefing_id in queryset.filter(version__isnull=True).values_list("pk", flat=True):
                briefing_publish(briefing_id=briefing_id, actor=request_actor(request))
                count += 1
            return count

        run_service(request, call, done="Published {count} briefing(s).")

    @admin.action(description="Start a new draft from the selected version", permissions=["add"])
    def start_new_draft(self, request: HttpRequest, queryset: QuerySet[IncidentBriefing]) -> HttpResponse | None:
        incident_ids = set(queryset.values_list("incident_id", flat=True))
        if len(incident_ids) != 1:
            messages.error(request, "Select briefings of one incident to start its new draft.")
            return None
        draft = briefing_draft_start(incident_id=incident_ids.pop(), actor=request_actor(request))
        return HttpResponseRedirect(reverse("admin:care_incidentbriefing_change", args=[draft.pk]))


class ContactNoteInline(admin.TabularInline):
    """Reps' notes of their conversations with this customer, newest first (written on the frontline pages)."""

    model = ContactNote
    extra = 0
    can_delete = False
    # On the customer's page the notes of several incidents meet: each is told on its own incident's clock.
    fields = ("created", "author", "incident", "text", "promise", "promised")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    verbose_name_plural = "contact notes from frontline reps"
    created = station_clock_column("created_at", description="written at")
    promised = station_clock_column("promised_by", description="promised by")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactNote]:
        return super().get_queryset(request).select_related("author", "incident")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ContactNote)
class ContactNoteAdmin(StationClockAdminMixin, ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("created", "customer_link", "author", "incident", "promise", "promised")
    station_lookup = "incident__stations"  # a note about no incident stays on UTC, and says so
    readonly_fields = ("created_at",)  # not a form field (auto_now_add): shown on the note's page all the same
    created = station_clock_column("created_at", description="written at")
    promised = station_clock_column("promised_by", description="promised by")
    list_select_related = ("customer", "author", "incident")
    search_fields = ("=customer__external_ref",)
    search_help_text = "Customer reference."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, obj: ContactNote) -> str:
        return admin_link(obj.customer, obj.customer.name)


@admin.register(CustomerPageView)
class CustomerPageViewAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("viewed_at", "customer_link", "viewer")
    list_select_related = ("customer", "viewer")
    list_filter = ("viewer",)
    search_fields = ("=customer__external_ref",)
    search_help_text = "Customer reference."
    date_hierarchy = "viewed_at"
    ordering = ("-viewed_at", "-id")

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, obj: CustomerPageView) -> str:
        return admin_link(obj.customer, obj.customer.name)
