"""Imports of affected customers (incidents.ingest): the job with its progress and counters, and the rows it
refused. Defined here, beside incidents.models (which imports them so Django registers them and the rest of the
code keeps importing them from there), so that neither module passes the size limit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ImportSource(models.TextChoices):
    ADMIN = "admin", "Admin upload"
    API = "api", "API"
    COMMAND = "command", "Management command"


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSONL = "jsonl", "JSON lines"
    JSON = "json", "JSON array"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One file of affected customers loaded into one incident (incidents.ingest), with its progress.

    The counters are written while the import runs, outside its final transaction, so a coordinator can
    watch them; ``bytes_done / bytes_total`` gives the share done and the time left.
    """

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="imports")
    source = models.CharField(max_length=10, choices=ImportSource.choices)
    file_format = models.CharField("format", max_length=10, choices=ImportFormat.choices, default=ImportFormat.CSV)
    file = models.FileField(upload_to="imports/%Y/%m/%d/", blank=True)
    file_name = models.CharField("original file name", max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=100, blank=True, help_text="The API token or command that sent it.")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveIntegerField("rows read", default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    customers_updated = models.PositiveIntegerField(default=0)
    # Several rows may name one customer (one per flight: booking legs), so rows do not count customers.
    customers_in_file = models.PositiveIntegerField("customers in the file", default=0)
    affected_created = models.PositiveIntegerField("affected customers added", default=0)
    # A row for a customer already recorded on that flight of the incident updates its impact where the file
    # changes it ("updated"), else it is "already recorded" (unchanged).
    affected_updated = models.PositiveIntegerField("already recorded, impact updated", default=0)
    affected_existing = models.PositiveIntegerField("already recorded, unchanged", default=0)
    affected_flight_kept = models.PositiveIntegerField(
        "flight's status kept",
        default=0,
        help_text=(
            "Rows on a flight the status feed has reported on: the feed's delay, cancellation and diversion were "
            "kept over the file's (the file still set the passenger's own facts)."
        ),
    )
    error = models.TextField(blank=True, help_text="Why the whole file was refused (a bad header, an unreadable file).")

    class Meta:
        verbose_name = "import of affected customers"
        verbose_name_plural = "imports of affected customers"
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["incident", "-created_at"], name="import_incident_created_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="import_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} into incident {self.incident_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def customers_known(self) -> int:
        """Customers of the file's rows who were in the database already, whether the file changed them
        (``customers_updated``) or not: with ``customers_created`` they are every customer of the file."""
        if not self.customers_in_file:  # an import finished before the file's customers were counted
            return max(
                0, self.affected_created + self.affected_updated + self.affected_existing - self.customers_created
            )
        return max(0, self.customers_in_file - self.customers_created)

    @property
    def fraction_done(self) -> float:
        if self.status == ImportStatus.DONE:
            return 1.0
        if not self.bytes_total:
            return 0.0
        return min(1.0, self.bytes_done / self.bytes_total)

    def seconds_left(self, now: object | None = None) -> float | None:
        """A linear estimate from the bytes read so far; None until there is something to go on."""
        if self.is_finished or self.started_at is None or not self.bytes_done or not self.bytes_total:
            return None if not self.is_finished else 0.0
        elapsed = ((now or timezone.now()) - self.started_at).total_seconds()  # type: ignore[operator]
        fraction = self.fraction_done
        return max(0.0, elapsed * (1 - fraction) / fraction)


class ImportRejection(models.Model):
    """A row an import refused, with its number in the file and why; the rest of the file went in."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    row_number = models.PositiveIntegerField(help_text="The line in the file (the header is line 1).")
    reason = models.TextField()
    raw = models.JSONField(default=dict, blank=True, help_text="The row as it was read.")

    class Meta:
        ordering = ("job", "row_number")
        constraints = [
            models.UniqueConstraint(fields=["job", "row_number"], name="import_rejection_unique_row"),
        ]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.reason}"
