"""The dashboard in a real headless Chromium against a real node process: sign-in, the
vehicle page and its chart, an alert reviewed on-chain by a reviewer, and an auditor who
is shown no write control at all."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from api_server import NodeProcess
from playwright.sync_api import Browser, Page, expect
from scenario import ROUNDS, Story

from node_api.api_keys import Role
from node_api.dashboard.browser import LAPTOP, PHONE

WRITE_CONTROLS = ".write-control, form.review-form, button[data-action]"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Page, node: NodeProcess, token: str) -> None:
    page.goto(f"{node.url}/dashboard")
    page.fill("#api-key", token)
    page.click("#sign-in button[type=submit]")


def test_a_wrong_key_is_refused_and_the_right_one_signs_in(
    page: Page, bank_node: NodeProcess
) -> None:
    sign_in(page, bank_node, "vcl_0000_not-a-key")
    expect(page.locator("#sign-in-error")).to_contain_text("unknown or revoked")
    expect(page.locator("#nav")).to_be_hidden()
    page.fill("#api-key", bank_node.keys[Role.OFFICER])
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#role")).to_have_text("officer")
    expect(page.locator("#nav")).to_be_visible()


def test_vin_search_shows_the_vehicle_with_its_score_chart(
    page: Page, bank_node: NodeProcess, story: Story
) -> None:
    sign_in(page, bank_node, bank_node.keys[Role.OFFICER])
    page.fill("#vin-search", story.vin.lower())
    page.click("#vehicle-search button")
    expect(page.locator("h1")).to_have_text(f"Vehicle {story.vin}")
    chart = page.locator("svg#score-chart")
    expect(chart.locator("line.threshold")).to_have_count(1)
    expect(chart.locator("circle.point.value")).to_have_count(len(ROUNDS))
    expect(chart.locator("circle.point.score")).to_have_count(len(ROUNDS))
    expect(chart.locator(".threshold-label")).to_contain_text("70.00 %")
    # The value fell to 64% of the appraisal: the last point lies below the threshold line.
    threshold_y = float(chart.locator("line.threshold").get_attribute("y1") or "nan")
    last_y = float(chart.locator("circle.point.value").last.get_attribute("cy") or "nan")
    assert last_y > threshold_y
    expect(page.locator("#value-ratio")).to_have_text("64.00 %")
    expect(page.locator("svg#indicator-chart rect.contribution")).to_have_count(12)
    expect(page.get_by_text("Indicator contributions to the latest score")).to_be_visible()
    with bank_node.client(Role.OFFICER) as client:
        checked = client.get(f"/v1/documents/{story.document_cid}/verification").json()
    row = page.locator("#documents-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("inspection")
    expect(row.locator(".verification")).to_have_text(checked["documents"][0]["status"])
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("VehicleRegistered")
    expect(timeline).to_contain_text("ValueThresholdBreached")


def test_another_banks_alert_is_listed_without_a_review_form(
    page: Page, other_bank_node: NodeProcess, story: Story
) -> None:
    """Only the lending bank reviews its alert; another bank's reviewer sees it read-only."""
    sign_in(page, other_bank_node, other_bank_node.keys[Role.REVIEWER])
    page.click("#nav a[data-section=alerts]")
    others = page.locator("#others-alerts")
    card = others.locator(f"article[data-alert-id='{story.alert_id}']")
    expect(card).to_be_visible(timeout=15_000)  # the node indexes the consortium's events
    expect(card.locator("select[name=decision]")).to_have_count(0)
    expect(page.get_by_text("No alert of this bank waits for a review.")).to_be_visible()


def test_a_reviewer_reviews_an_alert_recorded_on_chain(
    page: Page, bank_node: NodeProcess, story: Story
) -> None:
    sign_in(page, bank_node, bank_node.keys[Role.REVIEWER])
    page.click("#nav a[data-section=alerts]")
    card = page.locator(f"article[data-alert-id='{story.alert_id}']")
    # No decision is preselected: sent without one, the form records nothing.
    expect(card.locator("select[name=decision]")).to_have_value("")
    card.locator("textarea[name=comment]").fill("Not decided yet")
    card.locator("button[type=submit]").click()
    expect(card.locator(".status")).to_have_text("")
    card.locator("select[name=decision]").select_option("confirmed_risk")
    card.locator("textarea[name=comment]").fill("Value drop confirmed by branch visit")
    card.locator("button[type=submit]").click()
    expect(card.locator(".status")).to_contain_text("recorded in block")
    reviewed = page.locator("#reviewed-alerts")
    expect(reviewed).to_contain_text("Value drop confirmed by branch visit")
    expect(reviewed).to_contain_text("confirmed risk")
    expect(reviewed).to_contain_text("staff-reviewer")  # who, on the reviewing bank's node
    with bank_node.client(Role.AUDITOR) as client:
        alert = client.get(f"/v1/alerts/{story.alert_id}").json()
    assert alert["review"]["decision"] == "confirmed_risk"
    assert alert["review"]["reviewed_at"]


def test_an_auditor_sees_no_write_control(page: Page, bank_node: NodeProcess, story: Story) -> None:
    sign_in(page, bank_node, bank_node.keys[Role.OFFICER])
    page.goto(f"{bank_node.url}/dashboard#/loan/{story.loan_id}")
    expect(page.locator("button[data-action=sync-rate]")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("from=Approved  to=Active")  # by name
    page.click("#sign-out")

    sign_in(page, bank_node, bank_node.keys[Role.AUDITOR])
    expect(page.locator("#role")).to_have_text("auditor")
    for route, landmark in (
        (f"#/loan/{story.loan_id}", "#rate-explained"),
        ("#/alerts", "#reviewed-alerts"),
        (f"#/vehicle/{story.vin}", "svg#score-chart"),
        ("#/loans", "#loans-table"),
    ):
        page.goto(f"{bank_node.url}/dashboard{route}")
        expect(page.locator(landmark)).to_be_visible()
        expect(page.locator(WRITE_CONTROLS)).to_have_count(0)


def test_the_vehicle_page_fits_a_phone(
    browser: Browser, bank_node: NodeProcess, story: Story
) -> None:
    context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    try:
        sign_in(page, bank_node, bank_node.keys[Role.AUDITOR])
        page.goto(f"{bank_node.url}/dashboard#/vehicle/{story.vin}")
        expect(page.locator("svg#score-chart")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
    finally:
        context.close()


def test_consortium_members_proposals_and_votes(page: Page, bank_node: NodeProcess) -> None:
    sign_in(page, bank_node, bank_node.keys[Role.AUDITOR])
    page.click("#nav a[data-section=consortium]")
    expect(page.locator("#members-table")).to_contain_text("bank-a")
    proposals = page.locator("#proposals-table tbody tr")
    expect(proposals).to_have_count(2)  # the two model approvals of the scenario
    expect(proposals.first).to_contain_text("executed")
    proposals.first.locator("a").click()
    votes = page.locator("#votes-table tbody tr")
    expect(votes).to_have_count(2)
    expect(votes.first).to_contain_text("for")


def test_monitoring_charts_show_the_days_activity(
    page: Page, bank_node: NodeProcess, story: Story
) -> None:
    sign_in(page, bank_node, bank_node.keys[Role.AUDITOR])
    page.click("#nav a[data-section=monitoring]")
    expect(page.locator("svg#alerts-chart rect.bar.raised")).not_to_have_count(0)
    expect(page.locator("svg#processing-chart")).to_be_visible()
    expect(page.locator("svg#overdue-chart")).to_be_visible()
    expect(page.locator("svg#lag-chart circle.point")).not_to_have_count(0)
    expect(page.locator("#indexer-lag")).to_contain_text("blocks")


def test_the_portfolio_shows_the_book_with_dated_full_width_charts(
    page: Page, bank_node: NodeProcess, story: Story
) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        book = client.get("/v1/portfolio").json()
    sign_in(page, bank_node, bank_node.keys[Role.AUDITOR])
    page.click("#nav a[data-section=portfolio]")
    # The story's one loan, active and unpaid: 1,000,000 fen out.
    expect(page.locator("#portfolio-loans")).to_have_text("1")
    expect(page.locator("#portfolio-exposure")).to_have_text("10,000.00 CNY")
    expect(page.locator("#portfolio-alerts")).to_have_text("1")
    rows = page.locator("#portfolio-states tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Active")
    expect(rows).to_contain_text("10,000.00 CNY")
    # Its vehicle is now valued 1,600,000: 62.5 % loan-to-value.
    ltv = page.locator("svg#ltv-chart")
    expect(ltv.locator("rect.bar")).to_have_count(1)
    expect(ltv.locator("rect.bar title")).to_have_text("Loans 50-70%: 1")
    expect(ltv.locator("text.tick", has_text="80-100%")).to_have_count(1)
    ticks = ltv.locator("text.tick").all_text_contents()
    assert {"0", "1", "2", "3", "4"} <= set(ticks), ticks  # loans are counted whole
    rates = page.locator("svg#rates-chart")
    # The book is a day old at most: one point a series (none while the book was empty).
    expect(rates.locator("circle.point.overdue")).to_have_count(2)  # loans and exposure
    expect(rates.locator("circle.point.defaulted")).to_have_count(2)
    labels = rates.locator("text.tick").all_text_contents()
    dates = [label for label in labels if re.fullmatch(r"\d{4}-\d{2}-\d{2}", label)]
    assert len(dates) >= 4, labels
    assert dates[-1] == book["as_of"][:10]
    card = page.locator("section.card", has=rates).bounding_box()
    chart = rates.bounding_box()
    assert card is not None
    assert chart is not None
    assert chart["width"] >= 0.9 * card["width"]  # the page's width, not 60 % of it
    expect(page.locator("#nav a.current")).to_have_text("Portfolio")
