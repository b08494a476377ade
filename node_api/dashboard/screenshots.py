"""Screenshots of the dashboard's main pages, for the documentation (docs/screenshots/).

    VCL_DASHBOARD_KEY=<reviewer or admin key> python -m node_api.dashboard.screenshots \
        --url http://127.0.0.1:8000 --vin <VIN> --loan <loan id> [--out docs/screenshots]

The key is read from the environment, never from the command line (it would show in the
process list). `make screenshots` runs this against a throw-away chain and node with a
scored, pledged and alerted vehicle (tests/python/dashboard/demo.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from node_api.dashboard.browser import LAPTOP, PHONE, launch_chromium

# (file name, route, an element that shows the page is drawn, viewport)
PAGES = (
    ("vehicle.png", "#/vehicle/{vin}", "svg#score-chart", LAPTOP),
    ("vehicle-phone.png", "#/vehicle/{vin}", "svg#score-chart", PHONE),
    ("loans.png", "#/loans", "#loans-table", LAPTOP),
    ("loan.png", "#/loan/{loan}", "#rate-explained", LAPTOP),
    ("alerts.png", "#/alerts", "#reviewed-alerts", LAPTOP),
    ("consortium.png", "#/consortium", "h2", LAPTOP),
    ("monitoring.png", "#/monitoring", "svg#lag-chart", LAPTOP),
)


def _signed_in(browser: Browser, url: str, token: str, viewport: dict[str, int]) -> Page:
    page = browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(20_000)
    page.goto(f"{url}/dashboard")
    page.fill("#api-key", token)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#role")
    return page


def capture(
    browser: Browser, *, url: str, token: str, vin: str, loan: str, out: Path
) -> list[Path]:
    """Every page of `PAGES` and the sign-in form; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    sign_in = browser.new_context(viewport=LAPTOP).new_page()  # type: ignore[arg-type]
    sign_in.goto(f"{url}/dashboard")
    sign_in.wait_for_selector("#api-key")
    written.append(out / "sign-in.png")
    sign_in.screenshot(path=written[-1])
    sign_in.context.close()
    for name, route, ready, viewport in PAGES:
        page = _signed_in(browser, url, token, viewport)
        page.goto(f"{url}/dashboard{route.format(vin=vin, loan=loan)}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        written.append(out / name)
        page.screenshot(path=written[-1], full_page=True)
        page.context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the node API, e.g. http://127.0.0.1:8000")
    parser.add_argument("--vin", required=True, help="a VIN this node registered")
    parser.add_argument("--loan", required=True, help="a loan id")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    token = os.environ.get("VCL_DASHBOARD_KEY", "").strip()
    if not token:
        print("set VCL_DASHBOARD_KEY to an API key of this node", file=sys.stderr)
        return 2
    with sync_playwright() as driver:
        browser = launch_chromium(driver)
        try:
            for path in capture(
                browser,
                url=args.url.rstrip("/"),
                token=token,
                vin=args.vin,
                loan=args.loan,
                out=args.out,
            ):
                print(path)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
