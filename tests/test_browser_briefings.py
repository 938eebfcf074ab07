"""The frontline pages in a real Chromium: a rep's shift from login to the customer on the phone.

Driven by Playwright's sync API against Debian's chromium (see the ``chromium`` fixture in conftest: skipped
locally without a browser, failed under CI). The board screenshot is kept in var/test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from care.correspondence.models.letters import LetterEvent, LetterStatus
from incidents.models import Audience, Severity
from incidents.services import incident_post_update
from tests.factories import AffectedCustomerFactory, CustomerFactory, LetterFactory, UserFactory, VoucherFactory
from tests.factories_briefings import open_incident, published_briefing
from vouchers.codes import generate_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # UserFactory's


@pytest.fixture
def fast_refresh(settings: Any) -> None:
    # The live server runs in this process, so it sees the override: pages poll every second.
    settings.BRIEFINGS_REFRESH_SECONDS = 1


@pytest.fixture
def scenario(rep: Any, coordinator: Any) -> dict[str, Any]:
    incident = open_incident(
        title="Blizzard closes Newark",
        severity=Severity.CRITICAL,
        stations="EWR",
        flights="UA 1545, UA 1714, B6 22",
        next_update_due_at=timezone.now() + dt.timedelta(minutes=25),
    )
    open_incident(
        title="Late inbound aircraft at JFK",
        severity=Severity.MINOR,
        stations="JFK",
        next_update_due_at=timezone.now() - dt.timedelta(minutes=10),  # overdue: the board shows it
    )
    published_briefing(
        incident,
        actor=coordinator,
        talking_points="Apologise first.\nEveryone on a cancelled flight is rebooked automatically.",
        what_not_to_say="Do not guess when the runways reopen.",
        faq="Q: Can I get a refund?\nA: Yes, if you do not travel.",
        change_note="First briefing.",
    )
    incident_post_update(incident=incident, audience=Audience.CUSTOMERS, text="Runways are closed by snow.")
    customer = CustomerFactory.create(name="Ana Lima", external_ref="CUST-7001")
    affected = AffectedCustomerFactory.create(customer=customer, incident=incident, booking_reference="ZK4Q9M")
    voucher = VoucherFactory.create(affected=affected, code=generate_code(), amount=Decimal("200.00"))
    letter = LetterFactory.create(
        affected=affected, kind="initial_notice", status=LetterStatus.DELIVERED, sent_at=timezone.now()
    )
    LetterEvent.objects.create(
        letter=letter, esp_name="postmark", event_id="ev-1", event_type="delivered", occurred_at=timezone.now()
    )
    return {"incident": incident, "customer": customer, "voucher": voucher, "rep": rep, "coordinator": coordinator}


def _log_in(page: Any, username: str) -> None:
    page.goto("/briefings/")
    assert "/briefings/login/" in page.url  # anonymous: sent to the login page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/briefings/$"))


def test_a_rep_reads_the_briefing_sees_a_live_update_and_finds_a_customer_by_voucher_code(
    browser_page: Any, scenario: dict[str, Any], fast_refresh: None, artifacts_dir: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    incident = scenario["incident"]
    _log_in(page, "rep")

    # The board: most severe first, overdue made obvious, and a screenshot for the record.
    expect(page.get_by_role("heading", name="Active incidents")).to_be_visible()
    rows = page.locator("table.board-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Blizzard closes Newark")
    expect(rows.nth(1)).to_contain_text("overdue by")
    expect(page.locator("[data-refreshed]")).to_be_visible()
    expect(page.locator("[data-refreshed]")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2} UTC$"))  # spans stations
    # Newark's promise, and UTC: with UTC's date too when it is another day there (the live server reads the real
    # clock, so the test accepts both, whatever the hour it runs at).
    promise = re.compile(r"E[SD]T \((\d{1,2} [A-Z][a-z]{2} \d{4}, )?\d{2}:\d{2} UTC\)")
    expect(rows.nth(0)).to_contain_text(promise)
    page.screenshot(path=str(artifacts_dir / "board.png"), full_page=True)

    # The briefing.
    page.get_by_role("link", name=re.compile("Blizzard closes Newark")).click()
    expect(page.get_by_role("heading", name="You are reading version 1")).to_be_visible()
    expect(page.get_by_text("Do not guess when the runways reopen.")).to_be_visible()
    expect(page.get_by_text("Runways are closed by snow.")).to_be_visible()

    # A coordinator posts an update; it appears without a reload.
    page.evaluate("window.__sameDocument = true")
    first_refresh = page.locator("[data-refreshed]").get_attribute("datetime")
    incident_post_update(
        incident=incident,
        audience=Audience.FRONTLINE,
        text="Rebooking desks reopen at 05:00 in terminal C.",
        author=scenario["coordinator"],
    )
    expect(page.get_by_text("Rebooking desks reopen at 05:00 in terminal C.")).to_be_visible(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # no navigation happened
    assert page.locator("[data-refreshed]").get_attribute("datetime") != first_refresh
    # Refreshed by the script, still on Newark's clock: the server wrote the time into the fragment.
    expect(page.locator("[data-refreshed]")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2} E[SD]T$"))
    expect(page.locator("[data-announce]")).to_contain_text("changed")

    # The customer on the phone reads out their voucher code, in lower case with spaces.
    page.get_by_role("link", name="Find a customer").click()
    typed = " ".join(scenario["voucher"].code.replace("-", "")).lower()
    page.get_by_label(re.compile("voucher code")).fill(typed)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=re.compile("Ana Lima"))).to_be_visible()
    letters = page.locator("#letters")
    expect(letters).to_contain_text("Initial notice")
    expect(letters).to_contain_text("Delivered")
    expect(letters).to_contain_text("delivered ·")
    vouchers = page.locator("#vouchers")
    expect(vouchers).to_contain_text(scenario["voucher"].code)
    expect(vouchers).to_contain_text("200.00 USD")
    expect(vouchers).to_contain_text("Valid")
    page.screenshot(path=str(artifacts_dir / "customer.png"), full_page=True)


def test_the_pages_work_with_the_keyboard_and_fit_a_tablet(
    browser_page: Any, scenario: dict[str, Any], artifacts_dir: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": 768, "height": 1024})
    _log_in(page, "rep")
    # The first Tab lands on the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # No sideways scrolling on a tablet: the table becomes stacked cards.
    for path in ("/briefings/", f"/briefings/incidents/{scenario['incident'].reference}/", "/briefings/customers/"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a tablet"
    page.goto(f"/briefings/customers/{scenario['customer'].pk}/")
    page.screenshot(path=str(artifacts_dir / "customer-tablet.png"), full_page=True)


def test_a_user_outside_both_roles_is_refused(browser_page: Any, db: Any) -> None:
    UserFactory.create(username="someone-else")
    _log_in(browser_page, "someone-else")
    assert "403" in browser_page.title() or browser_page.locator("body").inner_text().strip().startswith("403")


def test_countdowns_follow_the_servers_clock_not_the_desk_pcs(
    browser_page: Any, scenario: dict[str, Any], fast_refresh: None
) -> None:
    """A rep's PC two hours fast must not show the Newark promise (25 min out) as overdue, nor the JFK one
    (10 min overdue) as far more overdue: the promise was made by the server's clock."""
    from playwright.sync_api import expect

    page = browser_page
    page.clock.install(time=timezone.now() + dt.timedelta(hours=2))
    _log_in(page, "rep")
    rows = page.locator("table.board-table tbody tr")
    expect(rows).to_have_count(2)
    page.clock.run_for(16_000)  # past the 15-second countdown tick and a refresh of the board
    expect(rows.nth(0).locator("[data-countdown]")).to_have_text(re.compile(r"^in 2[45] min$"))
    expect(rows.nth(1).locator("[data-countdown]")).to_have_text(re.compile(r"^⚠ overdue by 1[01] min$"))
