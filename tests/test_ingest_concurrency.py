"""Two imports of overlapping files into one incident at the same time: nobody recorded twice, counters right."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from care.customers.models import Customer
from incidents.ingest.services import import_job_create, import_job_run
from incidents.models import AffectedCustomer, ImportJob, ImportSource, ImportStatus, Incident
from tests.factories import IncidentFactory
from tests.sweep_harness import run_threads
from tests.test_ingest import csv_bytes, row

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.concurrency]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_overlapping_imports_at_once_record_each_customer_once(method: str) -> None:
    incident = IncidentFactory.create()
    # Both files hold customers 1..3000; each also has 1000 of its own. Rows in opposite orders, so the two
    # merges meet each other's rows from both ends.
    shared = [row(n) for n in range(1, 3001)]
    files = [
        csv_bytes(shared + [row(n) for n in range(10_001, 11_001)]),
        csv_bytes(list(reversed(shared)) + [row(n) for n in range(20_001, 21_001)]),
    ]
    jobs = [import_job_create(incident=incident, source=ImportSource.API, upload=io.BytesIO(data)).pk for data in files]

    def work(job_id: int) -> Any:
        return lambda: import_job_run(job_id=job_id, method=method)

    errors = run_threads([work(job_id) for job_id in jobs])
    assert errors == []
    done = list(ImportJob.objects.filter(pk__in=jobs))
    assert {job.status for job in done} == {ImportStatus.DONE}
    assert AffectedCustomer.objects.filter(incident=incident).count() == 5000
    assert Customer.objects.count() == 5000
    if method == "copy":
        # Each row is counted by the import whose INSERT wrote it. (The ORM path counts before inserting,
        # which is exact where writers are serialized, as on SQLite, its home.)
        assert sum(job.affected_created for job in done) == 5000
        assert sum(job.affected_existing for job in done) == 3000
    assert Incident.objects.get(pk=incident.pk).affected_count == 5000
