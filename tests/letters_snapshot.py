"""Every letter the demo scenario produces, rendered under a fixed clock: the snapshot that shows a refactor of
the rendering changed nothing a customer reads.

``demo_letters(clock)`` loads the real demo (the February 2013 New York blizzard, a fixed seed, one passenger per
disrupted flight: 954 passengers, the loader's smallest size) into the current test's database, keeps a sample of
its customers (``_thin_out``: everyone disrupted twice, and the first customer of every incident, language, kind
of disruption and time zone; ``everyone=True`` keeps them all: 6,678 letters, about 20 s) and walks it
through the product's own services, at fixed moments:

1. the incidents open (the loader); every customer's initial notice, and update 1 carrying the timeline's
   latest customer news (``letters_prepare``, as a coordinator's *Prepare letters* does);
2. the promised update falls due with no news: the promise sweep posts its "no news yet" entry and numbers
   update 2, whose letters say so in each customer's language;
3. a coordinator posts news; the sweep numbers update 3, which carries it;
4. the incidents are resolved (the tight demo budget approved, so every incident issues its vouchers); the
   follow-up sweep issues the vouchers and writes the apologies, one per customer for customers disrupted on
   both days (the second incident's row is marked as combined into the first apology, re-rendered to
   acknowledge both);
5. every customer's voucher letter and survey.

Manual letters are left out: they are written by hand, one at a time, and have no template to render.

``letters_text`` joins the letters (sorted by customer, incident, kind and number) into one text; its sha256,
the number of letters, and the text itself (gzipped) are the golden under ``tests/snapshots`` that
``tests/test_letters_snapshot.py`` compares with. The golden was written by this module on the code before the
issue-12 refactor (commit a2b09cd, in a git worktree, with only the imports of the modules that moved changed); it is
rewritten on purpose when letters change (issue 13), with the reason in its header.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings

from care.correspondence.services import letters_prepare
from care.models import Customer, Letter, LetterKind
from care.operations.demo import DEFAULT_SEED, DEMO_CUSTOMER_PREFIX, demo_scenario_load
from care.operations.sweeps import sweep_follow_ups, sweep_kept_promises
from incidents.models import AffectedCustomer, Audience, Incident
from incidents.services import incident_post_update, incidents_refresh_counts, incidents_transition
from tests.clock import Clock
from vouchers.models import Voucher
from vouchers.selectors import incident_forecast
from vouchers.services import vouchers_approve_over_budget

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
DIGEST_FILE = SNAPSHOT_DIR / "demo_letters.sha256"
TEXT_FILE = SNAPSHOT_DIR / "demo_letters.txt.gz"
SAMPLE_FILE = SNAPSHOT_DIR / "demo_letters.sample.txt"

PASSENGERS_PER_FLIGHT = 1  # the smallest demo: every flight, incident and language, in a few seconds
# 10:00 in New York, 15:00 in London, on a Wednesday: the moment the demo loads. Every "now" the letters
# depend on (promised update times, voucher expiry, the law's time limits) follows from it.
START = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)
NEWS = "The snow has stopped. Ploughs are clearing the runways and the first departures are planned for tonight."
# The coordinator posts the news in every customer language (issue 13: one language per letter).
NEWS_TRANSLATIONS = {
    "es": (
        "Ha dejado de nevar. Las quitanieves despejan las pistas y las primeras salidas están previstas para esta "
        "noche."
    ),
    "fr": "La neige a cessé. Les chasse-neige dégagent les pistes et les premiers départs sont prévus ce soir.",
    "de": (
        "Der Schneefall hat aufgehört. Räumfahrzeuge befreien die Pisten, die ersten Abflüge sind für heute Abend "
        "geplant."
    ),
}
# Pinned so a local .env cannot change the letters; the phone number also makes the letters' contact line appear.
PINNED_SETTINGS = {
    "LANGUAGE_CODE": "en",
    "CARE_CONTACT_PHONE": "+1 212 555 0100",
    "CARE_FOLLOW_UP_AFTER": dt.timedelta(minutes=120),
    "CARE_COMBINE_WINDOW": dt.timedelta(days=7),
    "CARE_SWEEP_CHUNK": 500,
}
ACTOR = "letters snapshot"
# The letters demo_letters.sample.txt shows in full, for reviewers.
SAMPLE_KEYS = (
    "DEMO-000012 INC-20130208-0003 initial_notice#1",  # English; the departure in two time zones
    "DEMO-000007 INC-20130208-0002 update#2",  # French; the promised update without news
    "DEMO-000001 INC-20130208-0003 update#3",  # German; the update with the coordinator's news
    "DEMO-000078 INC-20130208-0001 apology#1",  # English; one apology for two disruptions, six vouchers
    "DEMO-000078 INC-20130209-0001 apology#1",  # the second disruption's apology, combined into the first
    "DEMO-000033 INC-20130208-0003 voucher#1",  # Spanish voucher letter
    "DEMO-000002 INC-20130208-0001 voucher#1",  # not rendered: the customer has no voucher
)


@dataclass(frozen=True)
class DemoLetter:
    """One letter as the customer would get it, with the check's verdict; normalised (see ``_normalised``)."""

    customer: str  # the customer's external reference (DEMO-…)
    incident: str  # the incident's reference (INC-…)
    kind: str
    sequence: int
    language: str  # the template's, which is the letter's ("" for a letter that has no template)
    template_version: int | None
    status: str
    to_address: str
    check_passed: bool | None
    check_reasons: tuple[str, ...]
    subject: str
    body_text: str
    body_html: str
    parts: str  # JSON, keys sorted
    sms_body: str = ""  # what an SMS letter texts (issue 15); its signed link's token normalised

    @property
    def key(self) -> str:
        return f"{self.customer} {self.incident} {self.kind}#{self.sequence}"

    def block(self) -> str:
        """The letter as lines of text, so that a difference shows as a readable diff."""
        return "\n".join(
            [
                f"=== {self.key} [{self.language or '-'} v{self.template_version}] {self.status} to {self.to_address}",
                f"check: {self.check_passed} {json.dumps(list(self.check_reasons), ensure_ascii=False)}",
                f"subject: {self.subject}",
                f"parts: {self.parts}",
                "--- text",
                self.body_text,
                "--- html",
                self.body_html,
                # Only SMS letters have the section: every email letter reads exactly as before.
                *(["--- sms", self.sms_body] if self.sms_body else []),
                "",
            ]
        )


def demo_letters(clock: Clock, *, everyone: bool = False) -> list[DemoLetter]:
    """Load the demo into the current test's database, write every letter it leads to, and return them sorted."""
    with override_settings(**PINNED_SETTINGS):
        _walk_through_the_demo(clock, everyone=everyone)
    return _collected()


def _walk_through_the_demo(clock: Clock, *, everyone: bool) -> None:
    clock.at(START)
    demo_scenario_load(passengers_per_flight=PASSENGERS_PER_FLIGHT, seed=DEFAULT_SEED)
    incidents = list(Incident.objects.order_by("reference"))
    if not everyone:
        _thin_out(incidents)

    def prepare(kind: str, sequence: int = 1) -> None:
        for incident in incidents:
            letters_prepare(incident_id=incident.pk, kind=kind, sequence=sequence, actor_label=ACTOR)

    # 1. Open: the first notices, and update 1 with the latest news of the demo's timeline.
    prepare(LetterKind.INITIAL_NOTICE)
    prepare(LetterKind.UPDATE, 1)
    # 2. The live promise (30 minutes after loading) falls due with no news since update 1.
    now = clock.at(START + dt.timedelta(minutes=31))
    sweep_kept_promises(now=now)
    prepare(LetterKind.UPDATE, 2)
    # 3. A coordinator posts news and a new promise; it falls due and update 3 carries the news.
    clock.at(START + dt.timedelta(minutes=40))
    for incident in incidents:
        incident_post_update(
            incident=incident,
            audience=Audience.CUSTOMERS,
            text=NEWS,
            next_update_due_at=START + dt.timedelta(minutes=70),
            translations=NEWS_TRANSLATIONS,
        )
    now = clock.at(START + dt.timedelta(minutes=71))
    sweep_kept_promises(now=now)
    prepare(LetterKind.UPDATE, 3)
    # 4. Resolved; the follow-up sweep issues the vouchers and writes the apologies. The demo gives one
    # incident a budget below its forecast on purpose: a coordinator approves it, so its customers get theirs.
    clock.at(START + dt.timedelta(minutes=80))
    coordinator = get_user_model().objects.create_user(username="snapshot-coordinator")
    for incident in incidents:
        if incident_forecast(incident_id=incident.pk).over_budget:
            vouchers_approve_over_budget(incident_id=incident.pk, actor=coordinator, note=ACTOR)
    incidents_transition(incident_ids=[incident.pk for incident in incidents], target="resolved", actor_label=ACTOR)
    now = clock.at(START + dt.timedelta(minutes=81) + settings.CARE_FOLLOW_UP_AFTER)
    sweep_follow_ups(now=now)
    # 5. The voucher letters and the surveys.
    clock.at(START + dt.timedelta(hours=4))
    prepare(LetterKind.VOUCHER)
    prepare(LetterKind.SURVEY)


def _thin_out(incidents: Sequence[Incident]) -> None:
    """Keep a sample of the demo's customers, chosen by what changes the wording of their letters, and remove
    the others' passenger rows before any letter is written (the kept customers' letters are the same as in the
    whole demo, byte for byte: a letter depends on its customer's own rows, the incident and the timeline, never on
    the other customers).

    Kept: every customer disrupted twice (the combined apology, the letters naming the other flight), and the
    first customer, by reference, of each incident, letter language, kind of disruption, and time zone (the
    station's, or another, which tells the departure in two zones).
    """
    rows = AffectedCustomer.objects.filter(incident__in=incidents).select_related("customer", "incident")
    rows = rows.order_by("customer__external_ref", "pk")
    seen: dict[int, int] = {}
    kept: set[int] = set()
    shapes: set[tuple[object, ...]] = set()
    for row in rows:
        seen[row.customer_id] = seen.get(row.customer_id, 0) + 1
        if seen[row.customer_id] > 1:
            kept.add(row.customer_id)
        shape = (
            row.incident.reference,
            row.customer.language,
            row.cancelled,
            row.diverted,
            bool(row.delay_minutes),
            row.missed_connection,
            row.overnight_stay,
            row.downgraded,
            row.customer.time_zone,
        )
        if shape not in shapes:
            shapes.add(shape)
            kept.add(row.customer_id)
    AffectedCustomer.objects.filter(incident__in=incidents).exclude(customer_id__in=kept).delete()
    Customer.objects.filter(external_ref__startswith=DEMO_CUSTOMER_PREFIX).exclude(pk__in=kept).delete()
    incidents_refresh_counts(incident_ids=[incident.pk for incident in incidents])


# What is random from one run to the next, and only that, is replaced:
# - voucher codes (drawn from ``secrets``): each by the voucher it is, "[VOUCHER <customer> <incident> <rule> #<n>]"
#   (rather than numbered in order of appearance, so one voucher missing from a letter does not renumber the rest);
# - letter ids in the reasons of an apology combined into another ("Combined into the apology L-<id>"): ids
#   depend on the database's sequences, so each by the key of the letter it names, "L-[<customer> … apology#1]".
_LETTER_ID = re.compile(r"\bL-(\d+)\b")
# The signed link of a letter-ready SMS: its signature depends on SECRET_KEY, not on the letter.
_LETTER_LINK = re.compile(r"/l/[^/\s]+/")
_SYMBOL = "[0-9A-HJKMNP-TV-Z]"  # Crockford's base32 (vouchers.codes): the grouped form 7K3M-Q9TX-W2HD-R8NP-3
_VOUCHER_CODE = re.compile(rf"\b{_SYMBOL}{{4}}(?:-{_SYMBOL}{{4}}){{3}}-{_SYMBOL}\b")


def _collected() -> list[DemoLetter]:
    letters = list(
        Letter.objects.filter(customer__external_ref__startswith=DEMO_CUSTOMER_PREFIX).select_related(
            "customer", "incident", "template"
        )
    )
    codes = {
        code: f"[VOUCHER {customer} {incident} {rule} #{sequence}]"
        for code, customer, incident, rule, sequence in Voucher.objects.filter(
            customer__external_ref__startswith=DEMO_CUSTOMER_PREFIX
        ).values_list("code", "customer__external_ref", "incident__reference", "rule__slug", "sequence")
    }
    keys = {
        letter.pk: f"{letter.customer.external_ref} {_reference(letter)} {letter.kind}#{letter.sequence}"
        for letter in letters
    }
    rows = [_normalised(letter, codes=codes, keys=keys) for letter in letters]
    rows.sort(key=lambda row: (row.customer, row.incident, row.kind, row.sequence))
    return rows


def _reference(letter: Letter) -> str:
    return letter.incident.reference if letter.incident is not None else "-"


def _normalised(letter: Letter, *, codes: dict[str, str], keys: dict[int, str]) -> DemoLetter:
    def without_codes(text: str) -> str:
        return _VOUCHER_CODE.sub(lambda match: codes.get(match.group(0), match.group(0)), text)

    def without_ids(text: str) -> str:
        return _LETTER_ID.sub(lambda match: f"L-[{keys.get(int(match.group(1)), '?')}]", text)

    return DemoLetter(
        customer=letter.customer.external_ref,
        incident=_reference(letter),
        kind=letter.kind,
        sequence=letter.sequence,
        language=letter.template.language if letter.template is not None else "",
        template_version=letter.template_version,
        status=letter.status,
        to_address=letter.to_address,
        check_passed=letter.check_passed,
        check_reasons=tuple(without_ids(without_codes(str(reason))) for reason in letter.check_reasons),
        subject=without_codes(letter.subject),
        body_text=without_codes(letter.body_text),
        body_html=without_codes(letter.body_html),
        parts=without_codes(json.dumps(letter.parts, ensure_ascii=False, sort_keys=True)),
        sms_body=_LETTER_LINK.sub("/l/[token]/", letter.sms_body),
    )


# --- The golden ---------------------------------------------------------------------------------------------


def letters_text(letters: Iterable[DemoLetter]) -> str:
    return "\n".join(letter.block() for letter in letters)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def letter_blocks(text: str) -> dict[str, str]:
    """The letters of a ``letters_text`` by key, each as its block of lines."""
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    previous = ""
    for line in text.split("\n"):
        if line.startswith("=== ") and previous == "" and " [" in line:
            current = blocks.setdefault(line[4:].split(" [", 1)[0], [])
        current.append(line)
        previous = line
    return {key: "\n".join(lines) for key, lines in blocks.items()}


def raw_voucher_codes(letters: Iterable[DemoLetter]) -> list[str]:
    """The letters that still show a voucher code after normalisation (a code ``_collected`` did not know)."""
    return [
        letter.key
        for letter in letters
        if any(
            _VOUCHER_CODE.search(text) for text in (letter.subject, letter.body_text, letter.body_html, letter.parts)
        )
    ]


def counts_by_kind_and_language(letters: Iterable[DemoLetter]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for letter in letters:
        name = f"{letter.kind} {letter.language or '-'} {letter.status}"
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def read_golden() -> tuple[str, int, str | None]:
    """(sha256, number of letters, the full text or None when it is not stored)."""
    fields: dict[str, str] = {}
    for line in DIGEST_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split(None, 1)
            fields[name] = value
    text = gzip.decompress(TEXT_FILE.read_bytes()).decode("utf-8") if TEXT_FILE.exists() else None
    return fields["sha256"].strip(), int(fields["letters"]), text


def write_golden(letters: Sequence[DemoLetter], *, made_by: str, sample_keys: Sequence[str] = SAMPLE_KEYS) -> None:
    """Write the digest, the full text (gzipped, byte-stable) and a few letters in full for reviewers."""
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    text = letters_text(letters)
    counts = counts_by_kind_and_language(letters)
    DIGEST_FILE.write_text(
        f"# The letters of the demo (seed {DEFAULT_SEED}, {PASSENGERS_PER_FLIGHT} passenger per flight, its sample of "
        f"customers), rendered by tests/letters_snapshot.py {made_by}.\n"
        + "".join(f"# {count:5d}  {name}\n" for name, count in counts.items())
        + f"sha256 {digest(text)}\nletters {len(letters)}\n"
    )
    TEXT_FILE.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    chosen = [letter for letter in letters if letter.key in set(sample_keys)]
    SAMPLE_FILE.write_text(
        f"# A few of the {len(letters)} demo letters in full (tests/letters_snapshot.py {made_by}); the whole "
        "text is demo_letters.txt.gz.\n\n" + letters_text(chosen)
    )
