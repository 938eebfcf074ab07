"""Incidents in the workbench: the change form, its timeline, texts and lifecycle buttons."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from care.core.actors import request_actor
from care.core.admin_base import (
    StationClockAdminMixin,
    StatusChangeInline,
    WorkbenchAdmin,
    changelist_link,
    run_service,
    status_badge,
)
from care.core.errors import DomainError
from care.core.station_time import clock_label, station_time
from care.correspondence.impact_told import customers_to_tell
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind
from care.correspondence.selectors import customers_left_to_notify, first_notice_latency
from care.correspondence.services import KINDS_CARRYING_VOUCHERS, HeldOverBudget, letters_prepare_by_hand
from care.customers.models import Customer
from incidents.admin.paragraph_variants import ParagraphVariantInline, paragraph_variants_save
from incidents.admin.timeline import IncidentUpdateInline, timeline_save
from incidents.models import (
    ACTIVE_STATUSES,
    INCIDENT_LIFECYCLE,
    AffectedCustomer,
    Incident,
    IncidentStatus,
    IncidentStatusChange,
    IncidentTranslation,
    IncidentUpdate,
)
from incidents.services import (
    INCIDENT_UPDATABLE_FIELDS,
    TRANSITION_VERBS,
    TRANSLATED_FIELDS,
    incident_create,
    incident_translation_delete,
    incident_translation_save,
    incident_update,
    incidents_transition,
)
from incidents.variants import ParagraphVariant
from vouchers.admin import incident_compensation_panel
from vouchers.models import Voucher


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class IncidentTranslationInline(admin.StackedInline):
    """The coordinator's explanation, apology and prevention for customers who read another language."""

    model = IncidentTranslation
    extra = 0
    fields = ("language", "explanation", "apology", "prevention")
    classes = ("collapse",)

    def _open(self, request: HttpRequest, obj: Incident | None, allowed: bool) -> bool:
        return allowed and (obj is None or obj.status != IncidentStatus.CLOSED)  # a closed incident is final

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(request, obj, super().has_add_permission(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(request, obj, super().has_change_permission(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(request, obj, super().has_delete_permission(request, obj))


class IncidentStatusChangeInline(StatusChangeInline):
    model = IncidentStatusChange


@admin.register(Incident)
class IncidentAdmin(StationClockAdminMixin, WorkbenchAdmin):
    list_display = (
        "reference",
        "title",
        "status_display",
        "severity",
        "affected_display",
        "contacted_display",
        "next_update_display",
        "started_display",
    )
    list_display_links = ("reference", "title")
    list_select_related = ("owner",)
    list_filter = ("status", "cause", "within_control", "severity", "kind")
    search_fields = ("reference", "title", "stations", "flights")
    ordering = ("-started_at", "-id")
    list_per_page = 25
    actions = ("open_incidents", "monitor_incidents", "resolve_incidents", "close_incidents")
    inlines = (IncidentTranslationInline, ParagraphVariantInline, IncidentUpdateInline, IncidentStatusChangeInline)
    autocomplete_fields = ()
    raw_id_fields = ("owner",)
    change_form_template = "admin/incidents/incident/change_form.html"
    readonly_fields = (
        "reference",
        "status",
        "created_at",
        "opened_at",
        "monitoring_at",
        "resolved_at",
        "closed_at",
        "affected_count",
        "contacted_count",
        "first_notice_display",
        "to_update_display",
        "related_links",
        "compensation_panel",
        "promise_display",
    )
    fieldsets = (
        (None, {"fields": ("reference", "title", "kind", "cause", "within_control", "severity", "owner")}),
        ("Where and when", {"fields": ("stations", "flights", "started_at")}),
        (
            "Promise to customers",
            {"fields": ("next_update_due_at", "promise_display", "first_contact_target_minutes", "auto_send_notices")},
        ),
        ("What customers are told", {"fields": ("explanation", "apology", "prevention")}),
        (
            "Customers, letters and vouchers",
            {
                "fields": (
                    "affected_count",
                    "contacted_count",
                    "first_notice_display",
                    "to_update_display",
                    "related_links",
                    "compensation_panel",
                )
            },
        ),
        (
            "Lifecycle",
            {"fields": ("status", "created_at", "opened_at", "monitoring_at", "resolved_at", "closed_at")},
        ),
    )

    class Media:
        css = {"all": ("care/admin.css",)}

    # --- columns ------------------------------------------------------------------
    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Incident) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="affected", ordering="affected_count")
    def affected_display(self, obj: Incident) -> str:
        return changelist_link(AffectedCustomer, f"{obj.affected_count:,}", incident__id__exact=obj.pk)

    @admin.display(description="contacted", ordering="contacted_count")
    def contacted_display(self, obj: Incident) -> str:
        complete = obj.affected_count and obj.contacted_count == obj.affected_count
        css = "contact-complete" if complete else "contact-pending"
        return format_html('<span class="{}">{}</span>', css, f"{obj.contacted_count:,}")

    @admin.display(description="next update due", ordering="next_update_due_at")
    def next_update_display(self, obj: Incident) -> str:
        if obj.next_update_due_at is None:
            return "—"
        if obj.status not in ACTIVE_STATUSES:
            # The sweeps keep promises only while an incident is active: a resolved one promises nothing more.
            return "— (no more updates)"
        when = station_time(obj.next_update_due_at, obj, utc=True)
        if obj.is_update_overdue():
            return format_html('<span class="overdue" title="The promised update is overdue">{} (overdue)</span>', when)
        return when

    @admin.display(description="first notice: import to email provider")
    def first_notice_display(self, obj: Incident) -> str:
        if obj.pk is None:
            return "—"
        latency = first_notice_latency(obj.pk)
        if latency.median_seconds is None or latency.max_seconds is None:
            return f"No first notice sent yet ({latency.waiting:,} customers waiting)."
        target = obj.first_contact_target_minutes * 60
        css = "contact-complete" if latency.max_seconds <= target else "overdue"
        return format_html(
            '<span class="{}">median {}, slowest {}</span> for {} customers; {} still waiting (target {} min).',
            css,
            _duration(latency.median_seconds),
            _duration(latency.max_seconds),
            f"{latency.notified:,}",
            f"{latency.waiting:,}",
            obj.first_contact_target_minutes,
        )

    @admin.display(description="customers to update")
    def to_update_display(self, obj: Incident) -> str:
        """The passengers whose flight got worse than their last letter said (the flight feed); the next update
        sweep tells them, within the minute."""
        if obj.pk is None:
            return "—"
        due = customers_to_tell(now=timezone.now(), incident_ids=[obj.pk]).get(obj.pk)
        if not due:
            return "None: every customer's last letter tells their flight as it stands."
        return (
            f"{len(due.update):,} whose flight got worse since their last letter: the next update sweep writes to "
            f"them; {len(due.rerender) + len(due.rerender_queued):,} letters not sent yet are written again with "
            "the new facts."
        )

    @admin.display(description="started", ordering="started_at")
    def started_display(self, obj: Incident) -> str:
        return station_time(obj.started_at, obj)

    @admin.display(description="promised, on the station's clock and in UTC")
    def promise_display(self, obj: Incident) -> str:
        return self.next_update_display(obj) if obj.pk else "—"

    def get_form(self, request: HttpRequest, obj: Incident | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        typed_in = f"Typed and shown in {clock_label(obj)}."  # the change form runs on the station's clock
        for name in ("started_at", "next_update_due_at"):
            if name in form.base_fields:
                field = form.base_fields[name]
                field.help_text = f"{field.help_text} {typed_in}".strip()
        return form

    @admin.display(description="compensation")
    def compensation_panel(self, obj: Incident) -> str:
        """The vouchers' forecast against the budget, liability and redemption rate (vouchers app)."""
        return incident_compensation_panel(obj)

    @admin.display(description="affected customers, letters and vouchers")
    def related_links(self, obj: Incident) -> str:
        if obj.pk is None:
            return "—"
        add_import = reverse("admin:incidents_importjob_add") + f"?incident={obj.pk}"
        return format_html(
            '{} · {} · {} · {} · {} · <a href="{}">import affected customers from a file</a>',
            changelist_link(
                AffectedCustomer,
                f"{obj.affected_count:,} affected customers",
                incident__id__exact=obj.pk,
            ),
            changelist_link(
                Letter, f"{Letter.objects.filter(incident=obj).count():,} letters", incident__id__exact=obj.pk
            ),
            changelist_link(
                Voucher, f"{Voucher.objects.filter(incident=obj).count():,} vouchers", incident__id__exact=obj.pk
            ),
            changelist_link(
                Customer,
                "customers email did not reach (phone them)",
                unreachable="yes",
                affected__incident__id__exact=obj.pk,
            ),
            changelist_link(
                LetterBatch,
                f"{LetterBatch.objects.filter(incident=obj).count():,} letter batches",
                incident__id__exact=obj.pk,
            ),
            add_import,
        )

    # --- permissions --------------------------------------------------------------
    def has_transition_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("incidents.transition_incident")

    # --- actions ------------------------------------------------------------------
    def _transition(self, request: HttpRequest, queryset: QuerySet[Incident], target: str) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        run_service(
            request,
            lambda: incidents_transition(incident_ids=ids, target=target, actor=request_actor(request)),
            done=f"{TRANSITION_VERBS[target].capitalize()}: {{count}} incident(s).",
        )

    @admin.action(description="Open selected incidents", permissions=["transition"])
    def open_incidents(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._transition(request, queryset, IncidentStatus.OPEN)

    @admin.action(description="Move selected incidents to monitoring", permissions=["transition"])
    def monitor_incidents(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._transition(request, queryset, IncidentStatus.MONITORING)

    @admin.action(description="Resolve selected incidents", permissions=["transition"])
    def resolve_incidents(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._transition(request, queryset, IncidentStatus.RESOLVED)

    @admin.action(description="Close selected incidents", permissions=["transition"])
    def close_incidents(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._transition(request, queryset, IncidentStatus.CLOSED)

    # --- lifecycle buttons on the change form -------------------------------------
    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_POST(self.transition_view))
        prepare = self.admin_site.admin_view(require_POST(self.prepare_letters_view))
        return [
            path("<int:object_id>/transition/", view, name="incidents_incident_transition"),
            path("<int:object_id>/prepare-letters/", prepare, name="incidents_incident_prepare_letters"),
            *super().get_urls(),
        ]

    def transition_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        incident = get_object_or_404(Incident, pk=object_id)
        if not self.has_transition_permission(request, incident):
            raise PermissionDenied
        target = request.POST.get("target", "")
        try:
            incidents_transition(incident_ids=[incident.pk], target=target, actor=request_actor(request))
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{incident.reference} is now {IncidentStatus(target).label.lower()}.")
        return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident.pk]))

    def _may_prepare(self, request: HttpRequest, kind: str) -> bool:
        # Apology and voucher letters are prepared with their vouchers, which are issued first.
        may_issue = kind not in KINDS_CARRYING_VOUCHERS or request.user.has_perm("vouchers.issue_voucher")
        return request.user.has_perm("care.add_letter") and may_issue

    def prepare_letters_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        incident = get_object_or_404(Incident, pk=object_id)
        kind = request.POST.get("kind", "")
        if not self._may_prepare(request, kind):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident.pk]))
        try:
            prepared = letters_prepare_by_hand(incident_id=incident.pk, kind=kind, actor=request_actor(request))
        except HeldOverBudget as exc:
            compensation = reverse("admin:vouchers_incidentcompensation_changelist") + f"?q={incident.reference}"
            messages.error(
                request, format_html('{} <a href="{}">Open its compensation settings</a>.', str(exc), compensation)
            )
            return back
        except DomainError as exc:
            messages.error(request, str(exc))
            return back
        vouchers = f"{prepared.vouchers_issued:,} vouchers issued first; " if prepared.vouchers_issued else ""
        messages.success(
            request,
            f"{vouchers}{prepared.created:,} new letters prepared; {prepared.rendered:,} rendered and "
            f"{prepared.held:,} held back by the personal-letter check. Review a sample, then approve.",
        )
        return HttpResponseRedirect(reverse("admin:care_letterbatch_change", args=[prepared.batch.pk]))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and self.has_transition_permission(request, obj):
            context["transitions"] = [
                (target, TRANSITION_VERBS[target].capitalize())
                for target in TRANSITION_VERBS
                if INCIDENT_LIFECYCLE.can_move(obj.status, target)
            ]
        if obj is not None:
            if obj.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
                offered = [(LetterKind.APOLOGY, "Prepare apology letters")]
            elif obj.status in ACTIVE_STATUSES and customers_left_to_notify(incident_id=obj.pk):
                offered = [(LetterKind.INITIAL_NOTICE, "Prepare first notices")]
            else:
                offered = []
            context["prepare_kinds"] = [(kind, label) for kind, label in offered if self._may_prepare(request, kind)]
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # --- saving goes through the services ----------------------------------------
    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        if obj is not None and obj.status == IncidentStatus.CLOSED:
            # A closed incident is final (incident_update refuses it): its form only shows what it was.
            return (*self.readonly_fields, *sorted(INCIDENT_UPDATABLE_FIELDS & {f.name for f in Incident._meta.fields}))
        return self.readonly_fields

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # The services refuse (a colleague closed the incident meanwhile); the admin's transaction rolls back
        # everything the form would have saved, and the coordinator reads why.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, f"Nothing was saved: {exc}")
            return HttpResponseRedirect(request.path)

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        model_fields = {field.name for field in Incident._meta.fields}
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data if name in INCIDENT_UPDATABLE_FIELDS}
            incident_update(incident=obj, actor=request_actor(request), **changed)
            return
        fields = {name: value for name, value in form.cleaned_data.items() if name in model_fields}
        created = incident_create(actor=request_actor(request), **fields)
        obj.pk, obj.reference, obj.status = created.pk, created.reference, created.status
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is IncidentTranslation:
            self._save_translations(request, form.instance, formset)
            return
        if formset.model is ParagraphVariant:
            paragraph_variants_save(request, form.instance, formset)
            return
        if formset.model is not IncidentUpdate:
            super().save_formset(request, form, formset, change)
            return
        timeline_save(request, form.instance, formset)

    def _save_translations(self, request: HttpRequest, incident: Incident, formset: Any) -> None:
        actor = request_actor(request)
        entries = formset.save(commit=False)  # also lists the deleted rows; the services write them all
        for deleted in formset.deleted_objects:
            incident_translation_delete(incident_id=incident.pk, language=deleted.language, actor=actor)
        for entry in entries:
            stored = IncidentTranslation.objects.filter(pk=entry.pk).values_list("language", flat=True).first()
            if stored is not None and stored != entry.language:  # moved to another language
                incident_translation_delete(incident_id=incident.pk, language=stored, actor=actor)
            texts = {name: getattr(entry, name) for name in TRANSLATED_FIELDS}
            incident_translation_save(incident_id=incident.pk, language=entry.language, actor=actor, **texts)
