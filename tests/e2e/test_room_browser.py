"""The room on the projector in real headless Chromium against the real `backbone run`: a poll
that hides its results shows none until it closes, then the final result without a reload;
questions from the room reorder by upvotes and an answered one leaves the list.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import act
from tests.e2e.test_polls import join, open_session
from tests.e2e.test_room import answer_of, ask, projector_of
from tests.e2e.test_web import web_bot  # noqa: F401 (fixture)
from tests.e2e.test_web_browser import CHROMIUM, browser, shoot  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed"),
]


def open_page(browser, url: str):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    page.wait_for_selector("body[data-updated]", timeout=5000)  # the stream is connected
    page.evaluate("window.notReloaded = true")
    return page


def test_hidden_results_then_the_reveal_in_chromium(web_bot, fake_api, browser) -> None:  # noqa: F811
    _, base = web_bot
    admin, code = open_session(fake_api)
    url = projector_of(admin, base)
    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code)
    act(admin, lambda: admin.send("/poll --hide-results Wer zuerst? | Schulen | Kammern"), "Wer")
    anna.wait_for("Wer zuerst?")
    ben.wait_for("Wer zuerst?")
    page = open_page(browser, url)
    answer_of(anna, anna.press("Schulen"))
    answer_of(ben, ben.press("Kammern"))
    page.wait_for_function(
        "() => document.querySelector('#voters').textContent.includes('2 Stimmen')",
        timeout=3000,
    )
    assert page.locator("#choices li").all_inner_texts() == ["Schulen", "Kammern"]
    assert page.locator("#bars").count() == 0 and page.locator(".bar").count() == 0
    assert "%" not in page.locator("#live").inner_text()
    assert page.locator("#hidden").is_visible()
    shoot(page, "hidden-results")

    act(admin, lambda: admin.send("/close"), "🏁")
    page.wait_for_selector("#final", timeout=3000)
    assert page.locator('#bars tr[data-label="Schulen"] td.count').inner_text() == "1"
    assert "50" in page.locator('#bars tr[data-label="Kammern"] .pct').inner_text()
    assert page.locator("#choices").count() == 0
    assert page.evaluate("window.notReloaded") is True  # revealed in place, by the stream
    shoot(page, "revealed-results")


def test_questions_reorder_and_answered_leave_in_chromium(web_bot, fake_api, browser) -> None:  # noqa: F811
    _, base = web_bot
    admin, code = open_session(fake_api)
    url = projector_of(admin, base)
    anna = join(fake_api, 601, code)
    ben = join(fake_api, 602, code)
    cem = join(fake_api, 603, code)
    page = open_page(browser, url)
    ask(anna, "Wer bezahlt die Fahrtkosten?")
    ask(ben, "Wann ist das nächste Treffen?")
    page.wait_for_selector("#questions li:nth-child(2)", timeout=3000)
    texts = page.locator("#questions li .text").all_inner_texts()
    assert texts == ["Wer bezahlt die Fahrtkosten?", "Wann ist das nächste Treffen?"]
    shoot(page, "questions")

    for person in (cem, anna):
        listing = act(person, lambda person=person: person.send("/questions"), "▲")
        label = "▲ 2" if person is cem else "▲ 1"  # Anna has no button for her own question
        answer_of(person, person.press(label, listing.message_id))
    page.wait_for_function(
        "() => document.querySelector('#questions li').dataset.upvotes === '2'", timeout=3000
    )
    texts = page.locator("#questions li .text").all_inner_texts()
    assert texts == ["Wann ist das nächste Treffen?", "Wer bezahlt die Fahrtkosten?"]
    assert page.locator("#questions li .upvotes").first.inner_text() == "▲ 2"
    shoot(page, "questions-upvoted")

    board = act(admin, lambda: admin.send("/questions"), "✅ 1")
    answer_of(admin, admin.press("✅ 1", board.message_id))
    page.wait_for_function(
        "() => document.querySelectorAll('#questions li').length === 1", timeout=3000
    )
    assert page.locator("#questions li .text").all_inner_texts() == ["Wer bezahlt die Fahrtkosten?"]
    assert page.evaluate("window.notReloaded") is True
    shoot(page, "questions-answered")
