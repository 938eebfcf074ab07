"""The running API against its own OpenAPI schema: schemathesis, every check on, over every operation.

The live test server serves /api/v1/schema/; schemathesis reads it and, for each operation, sends the
boundary cases of its coverage phase, the schema's examples and property-based (fuzzing) cases, positive and
negative, and runs every check it has on each answer (status codes, content types, bodies and headers
against the schema, valid data accepted, invalid data refused, auth enforced, 405 and ``Allow`` for methods
the schema does not list, …). The settings it shares with the CLI are in schemathesis.toml; here they are
made deterministic and bounded (a fixed seed, derandomized Hypothesis, no example database, a few cases per
operation, no deadline, the clock stopped at a fixed moment, the same rows), so the same code makes the
same requests and gets the same answers. (Hypothesis now and then draws a string constant of the project
modules loaded so far, so this module alone and the whole suite make slightly different cases, each the
same on every run.)

The database holds what an operations system would find: an open incident with affected customers (one
suppressed, one without email), its timeline, a letter, a voucher, a published briefing and an import with a
rejected row, so that ids exist (sequences are reset, so they are the small ids Hypothesis tries first).
Requests carry a token with every scope; every tenth routed case of an operation goes without one (a 401 the
schema must describe), and ``ignored_auth`` also probes each operation without and with a wrong token. A
share of the ids, customer references and voucher codes is taken from the rows that exist (schemathesis
"dictionaries"), so that reads, writes and redemptions get past the lookup.

``test_every_operation_was_exercised`` runs after the schemathesis test and fails unless it reached every
operation of the schema, with answers that prove it got past authentication to real data.
"""

from __future__ import annotations

import random
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import factory.random
import pytest
import schemathesis
from django.core.cache import cache
from django.utils import timezone
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok

from care.core.api.tokens import api_token_create
from care.customers.models import SuppressionReason
from incidents.ingest.format import json_rows
from incidents.ingest.services import import_job_create, import_job_run
from incidents.models import ImportFormat, ImportSource, IncidentStatus
from incidents.services import incident_post_update
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import (
    AffectedCustomerFactory,
    CustomerFactory,
    IncidentFactory,
    LetterFactory,
    UserFactory,
    VoucherFactory,
)
from tests.factories_briefings import published_briefing
from vouchers.codes import encode

pytestmark = [pytest.mark.django_db(transaction=True, reset_sequences=True), pytest.mark.schemathesis]

CONFIG_FILE = Path(__file__).resolve().parent.parent / "schemathesis.toml"
# Cases per operation and phase. The coverage phase adds its own boundary cases on top (several dozen for
# an operation with many parameters); 10 keeps the module at about a minute on two cores.
MAX_EXAMPLES = 10
SEED = 20130208
UNAUTHENTICATED_EVERY = 10
# The share of generated ids, customer references and voucher codes taken from the rows that exist.
EXISTING_SHARE = 0.3

EVERY_ENDPOINT = (
    "incidents/",
    "incidents/{id}/",
    "incidents/{id}/transition/",
    "incidents/{incident_pk}/updates/",
    "incidents/{incident_pk}/affected/",
    "affected/{id}/",
    "flight-events/",
    "flight-bookings/",
    "imports/",
    "imports/{id}/",
    "imports/{id}/rejections/",
    "imports/{id}/rejections.csv",
    "customers/",
    "customers/{external_ref}/",
    "letters/",
    "letters/{id}/",
    "vouchers/",
    "vouchers/{id}/",
    "vouchers/validate",
    "vouchers/redeem",
    "briefings/",
    "briefings/{id}/",
)
# What the schemathesis test saw, for test_every_operation_was_exercised: operation label -> status codes.
ANSWERS: dict[str, Counter[int]] = defaultdict(Counter)
OPERATIONS: set[str] = set()
ROUTED_CASES: Counter[str] = Counter()


def all_checks() -> list[Any]:
    load_all_checks()
    return list(CHECKS.get_all())


@pytest.fixture
def api_data(settings: Any, clock: Clock, tmp_path: Path) -> dict[str, Any]:
    # Stopped, for the server thread too: whether a generated date is past or future never depends on the day.
    clock.at(DAYTIME_IN_NEW_YORK)
    settings.MEDIA_ROOT = str(tmp_path / "media")  # imported files are stored before they are read
    # The same rows in every run, whichever tests ran before: schemathesis also draws on the values it reads.
    factory.random.reseed_random(SEED)
    for made in (AffectedCustomerFactory, CustomerFactory, IncidentFactory, LetterFactory, UserFactory, VoucherFactory):
        made.reset_sequence()
    # The failed-lookup throttle would answer most voucher calls with 429 after ten guesses; its own tests
    # cover it. Counts live in the cache the live server thread shares with this one.
    settings.VOUCHER_FAILED_LOOKUPS_ALLOWED = 1_000_000
    cache.clear()
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, stations="JFK LGA", opened_at=timezone.now())
    affected = [AffectedCustomerFactory.create(incident=incident) for _ in range(3)]
    suppressed = CustomerFactory.create(suppressed_at=timezone.now(), suppression_reason=SuppressionReason.HARD_BOUNCE)
    AffectedCustomerFactory.create(incident=incident, customer=suppressed)
    AffectedCustomerFactory.create(incident=incident, customer=CustomerFactory.create(email=""))
    incident_post_update(incident=incident, audience="customers", text="Runways are being cleared.")
    LetterFactory.create(affected=affected[0])
    # A genuine code, the same in every run (generate_code is random), so the run's cases are the same too.
    voucher = VoucherFactory.create(affected=affected[1], rule=None, code=encode(0x2013_0208_0000_0000_0001))
    published_briefing(incident, what_happened="A blizzard closed the airports.")
    job = import_job_create(incident=incident, source=ImportSource.API, file_format=ImportFormat.JSON)
    import_job_run(job_id=job.pk, rows=json_rows([{"customer_ref": "NO-FLIGHT", "name": "Ann Example"}]))
    _, raw = api_token_create(name="schemathesis", scopes=["read", "ingest", "redeem", "flights"])
    # The first of everything has id 1 (sequences are reset); a share of the cases use the rows that exist.
    return {"token": raw, "ids": [1], "customer_refs": [affected[0].customer.external_ref], "codes": [voucher.code]}


@pytest.fixture
def api_schema(live_server: Any, api_data: dict[str, Any]) -> Any:
    data = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    data["seed"] = SEED
    data.setdefault("generation", {}).update({"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"})
    data["dictionaries"] = {name: {"values": api_data[name]} for name in ("ids", "customer_refs", "codes")}
    data["parameters"] = {
        key: {"dictionary": name, "probability": EXISTING_SHARE}
        for key, name in (
            ("path.id", "ids"),
            ("path.incident_pk", "ids"),
            ("path.external_ref", "customer_refs"),
            ("body.code", "codes"),
        )
    }
    config = schemathesis.Config.from_dict(data, base_dir=str(CONFIG_FILE.parent))
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/", config=config)
    # schemathesis also draws on the global random (dictionaries, some negative mutations) outside Hypothesis.
    random.seed(SEED)
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation schemathesis cannot read is a broken schema
        OPERATIONS.add(result.ok().label)
    return schema


@pytest.fixture
def token(api_data: dict[str, Any]) -> str:
    return str(api_data["token"])


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 reads (and sets, to label each operation) the node id pytest before 9 kept in
    # ``_nodeid``; pytest 9 keeps it in ``_id``. Only the label of a failing operation depends on it.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_the_api_keeps_to_its_schema(case: Any, token: str) -> None:
    label = case.operation.label
    # Every tenth case goes without our token (with no credentials, or with the ones schemathesis made up),
    # among those that reach the operation: an invalid path is answered by the router's 404 before anything
    # looks at credentials.
    routed = case.meta is None or not case.meta.is_negative_at(ParameterLocation.PATH)
    if routed:
        ROUTED_CASES[label] += 1
    anonymous = routed and ROUTED_CASES[label] % UNAUTHENTICATED_EVERY == 0
    headers = {} if anonymous else {"Authorization": f"Bearer {token}"}
    response = case.call_and_validate(headers=headers, checks=all_checks())
    ANSWERS[label][response.status_code] += 1


def test_every_check_is_on() -> None:
    names = {check.__name__ for check in all_checks()}
    assert len(names) >= 14  # schemathesis 4.32 has 14; a newer one may add more, all of them run
    assert {"positive_data_acceptance", "negative_data_rejection", "ignored_auth", "use_after_free"} <= names


def test_every_operation_was_exercised() -> None:
    """Runs after the schemathesis test (same module, in order); on its own it fails, as it should."""
    # Every endpoint the README lists, by at least one of its operations (so an empty schema cannot pass).
    paths = {label.split(" ")[1] for label in OPERATIONS}
    assert paths >= {f"/api/v1/{path}" for path in EVERY_ENDPOINT}, sorted(OPERATIONS)
    assert set(ANSWERS) == OPERATIONS, sorted(OPERATIONS - set(ANSWERS))
    missing_401 = {label: dict(ANSWERS[label]) for label in OPERATIONS if 401 not in ANSWERS[label]}
    assert not missing_401  # the unauthenticated share of each operation was refused, and checked
    no_2xx = {label: dict(ANSWERS[label]) for label in OPERATIONS if not any(200 <= s < 300 for s in ANSWERS[label])}
    assert not no_2xx  # past authentication, to real data
