"""The console's results page in real headless Chromium against the real `backbone run`:
the list of finished campaigns, an intro, the preview of the message as a person gets it, the
confirmation, and the message arriving in a chat; "send again" on a second sending; German
and a phone's width. Screenshots go to test-artifacts/console-results*.png."""

# ruff: noqa: F811 (pytest fixtures imported from other test modules)
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.test_campaigns import admin_ready, campaign_env, zone  # noqa: F401 (fixtures)
from tests.e2e.test_console import console_bot, login_link  # noqa: F401
from tests.e2e.test_results_back import HEAD_EN, result_rows, seed_campaign, wait_until
from tests.e2e.test_web_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed"),
]


def off_loop(fn, *args, **kwargs):
    """Run a database helper (asyncio.run) beside Playwright's event loop in this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def planned(url: str) -> int:
    return len(off_loop(result_rows, url))


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-results{name}.png"), full_page=True)


def test_results_page_in_chromium(console_bot, fake_api, browser, migrated_url) -> None:
    _, base = console_bot
    people = {3200 + i: ("good", "clear" if i < 5 else "unclear") for i in range(7)}
    cid = off_loop(seed_campaign, fake_api, migrated_url, people)
    admin = admin_ready(fake_api)
    link = login_link(admin, base)

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    outside = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    page.goto(link)
    page.click("#signin")
    page.wait_for_url(f"{base}/console/")
    page.click("nav >> text=Results back")
    card = f"#source-campaign-{cid}"
    page.wait_for_selector(card)
    assert "not yet" in page.inner_text(f"{card} .sent")
    page.fill(f"#intro-campaign-{cid}", "Thank you, partners!\nSee you in spring.")
    shoot(page, "")
    page.click(f"#prepare-campaign-{cid}")
    page.wait_for_selector("#sample")
    sample = page.inner_text("#sample")
    assert sample.startswith(HEAD_EN) and "Thank you, partners!\nSee you in spring." in sample
    assert "Good: 7" in sample and "Unclear: fewer than 5" in sample
    assert "Took part: 7" in page.inner_text("#took-part")
    assert page.query_selector("#sent-before") is None
    shoot(page, "-preview")
    page.click("#confirm")
    page.wait_for_selector("#note")
    assert "7 messages planned" in page.inner_text("#note")
    got = fake_api.user(3203).wait_for(HEAD_EN, timeout=20).content
    assert "See you in spring." in got
    wait_until(lambda: planned(migrated_url) == 7, what="seven planned")
    shoot(page, "-planned")

    # A second sending: the preview warns, and only the ticked box sends it.
    page.click(f"#prepare-campaign-{cid}")
    page.wait_for_selector("#sent-before")
    page.check("#again")
    shoot(page, "-again")
    page.click("#confirm")
    page.wait_for_selector("#note")
    wait_until(lambda: planned(migrated_url) == 14, what="seven more planned")

    # German, on a phone: nothing wider than its screen.
    page.click("button[value=de]")
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{base}/console/results")
    assert "Ergebnisse" in phone.inner_text("h1")
    phone.click(f"#prepare-campaign-{cid}")
    phone.wait_for_selector("#sample")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shoot(phone, "-preview-phone")
    phone.goto(f"{base}/console/results")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(phone, "-phone")
    assert outside == [], f"the console loaded something from outside: {outside}"
    context.close()
