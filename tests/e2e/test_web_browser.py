"""The projector page in real headless Chromium against the real `backbone run`: a vote
moves the bar without a reload, words grow the cloud. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import act
from tests.e2e.test_polls import join, open_session
from tests.e2e.test_web import projector_url, web_bot  # noqa: F401 (fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed"),
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        # Debian's Chromium, not a downloaded one; no sandbox inside containers.
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"projector-{name}.png"), full_page=True)


def count_of(page, label: str) -> str:
    return page.locator(f'#bars tr[data-label="{label}"] td.count').inner_text()


def test_projector_updates_live_in_chromium(web_bot, fake_api, browser) -> None:  # noqa: F811
    _, base = web_bot
    admin, code = open_session(fake_api)
    reply = next(m for m in reversed(admin.messages()) if m.kind != "photo" and "/p/" in m.content)
    url = projector_url(reply.content, base)
    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code)
    act(admin, lambda: admin.send("/poll Was zuerst? | Praktika | Mentoring"), "Was zuerst?")
    ben.wait_for("Was zuerst?")

    page = browser.new_page(viewport={"width": 1280, "height": 720})
    outside = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    page.goto(url)
    assert page.locator("#code").inner_text() == code
    assert count_of(page, "Praktika") == "0"
    assert page.locator("svg").count() >= 1  # the QR code
    # The stream is connected (its first event marks the page) before anyone votes.
    page.wait_for_selector("body[data-updated]", timeout=5000)
    page.evaluate("window.notReloaded = true")
    shoot(page, "before-vote")

    anna.wait_callback_answer(anna.press("Praktika"))
    voted = time.monotonic()
    page.wait_for_function(
        """() => document.querySelector('#bars tr[data-label="Praktika"] td.count')
                 .textContent === '1'""",
        timeout=3000,
    )
    assert time.monotonic() - voted < 1.0
    assert page.evaluate("window.notReloaded") is True  # updated in place
    width = page.locator('#bars tr[data-label="Praktika"] .bar').evaluate(
        "el => el.getBoundingClientRect().width"
    )
    assert width > 100  # 100 % of the votes: a long bar
    assert "100" in page.locator('#bars tr[data-label="Praktika"] .pct').inner_text()
    shoot(page, "after-vote")

    act(admin, lambda: admin.send("/poll --words Ein Wort für die Zusammenarbeit?"), "Ein Wort")
    anna.wait_for("Ein Wort")
    ben.wait_for("Ein Wort")
    act(anna, lambda: anna.send("Vertrauen"), "vertrauen")  # stored in lower case
    act(ben, lambda: ben.send("Tempo"), "tempo")
    cem = join(fake_api, 603, code)  # a late joiner gets the open poll at once
    cem.wait_for("Ein Wort")
    act(cem, lambda: cem.send("Vertrauen!"), "vertrauen")
    page.wait_for_selector("#cloud li:has-text('vertrauen 2')", timeout=3000)
    cloud = page.locator("#cloud li").all_inner_texts()
    # Words and their counts as text; the most frequent is drawn largest.
    assert cloud == ["vertrauen 2", "tempo 1"], cloud
    assert "3 Personen dabei" in page.locator("#joined").inner_text()
    assert page.locator("#cloud li.size-5").inner_text() == "vertrauen 2"
    shoot(page, "word-cloud")

    act(admin, lambda: admin.send("/session end"), "Runder Tisch")
    page.wait_for_selector(".notfound", timeout=5000)  # the session's end reloads the page
    shoot(page, "session-over")
    assert outside == [], f"the page loaded something from outside: {outside}"
