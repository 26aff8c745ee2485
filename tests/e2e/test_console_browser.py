"""The staff console in real headless Chromium against the real `backbone run`: sign in by
the one-time link, create a campaign with preview and confirmation, watch the response rate
fill up without a reload, download an export (the CLI's bytes), make an invite link with its
QR code; another site's form is refused. A screenshot of each page goes to test-artifacts/."""

# ruff: noqa: F811 (pytest fixtures imported from other test modules)
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.e2e.helpers import act
from tests.e2e.test_campaigns import (  # noqa: F401 (fixtures)
    FIRST_QUESTION,
    FLOW,
    INVITATION,
    SECOND_QUESTION,
    admin_ready,
    campaign_env,
    invite_payload,
    join,
    zone,
)
from tests.e2e.test_console import console_bot, login_link  # noqa: F401
from tests.e2e.test_console_pages import cli, deadline_in
from tests.e2e.test_polls import join as join_session
from tests.e2e.test_web_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed"),
]


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def test_console_in_chromium(
    console_bot, fake_api, browser, campaign_env, zone, tmp_path, migrated_url
) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    anna = join(fake_api, 701, payload, "Anna")
    ben = join(fake_api, 702, payload, "Ben")
    session = act(admin, lambda: admin.send("/session Runder Tisch"), "?start=")
    code = re.search(r"start=S([A-Z0-9]+)", session.content).group(1)
    cem = join_session(fake_api, 703, code)
    act(admin, lambda: admin.send("/poll Was zuerst? | Praktika | Mentoring"), "Was zuerst?")
    cem.wait_for("Was zuerst?")
    cem.wait_callback_answer(cem.press("Praktika"))
    link = login_link(admin, base)

    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    outside = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    page.goto(link)
    shoot(page, "login")
    page.click("#signin")
    page.wait_for_url(f"{base}/console/")
    assert link.rsplit("/", 1)[1] not in page.url  # the token does not stay in the address
    assert "Runder Tisch" in page.inner_text("#open-sessions")
    shoot(page, "dashboard-empty")

    # Create a campaign: the form, the preview, the confirmation.
    page.click("text=Campaigns")
    page.click("#new-campaign")
    page.select_option("#flow", FLOW)
    page.check("input[name=group][value=partners]")
    page.fill("#deadline", deadline_in(zone))
    shoot(page, "campaign-new")
    page.click("#preview")
    assert "People who would be invited: 2" in page.inner_text("#would-invite")
    shoot(page, "campaign-preview")
    page.click("#confirm")
    page.wait_for_selector("#note")
    shoot(page, "campaign-detail")
    anna.wait_for(INVITATION, timeout=30)
    ben.wait_for(INVITATION, timeout=30)

    # The overview's response rate fills up by itself.
    page.click("text=Overview")
    page.wait_for_selector("#campaigns .completed")
    page.evaluate("window.notReloaded = true")
    assert page.inner_text("#campaigns .completed") == "0"
    act(anna, lambda: anna.press("▶"), FIRST_QUESTION)
    act(anna, lambda: anna.press("Good"), SECOND_QUESTION)
    act(anna, lambda: anna.press("Clear"), "Thank you")
    page.wait_for_function(
        "() => document.querySelector('#campaigns .completed').textContent === '1'",
        timeout=10000,
    )
    assert page.evaluate("window.notReloaded") is True
    assert "50" in page.inner_text("#campaigns .rate")
    shoot(page, "dashboard")

    page.click("text=Campaigns")
    shoot(page, "campaigns")
    page.click("text=Sessions and polls")
    shoot(page, "sessions")
    page.click(f"text={code}")
    page.wait_for_function(
        "() => { const i = document.querySelector('img.chart');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=10000,
    )
    shoot(page, "session")

    # An export, downloaded: the very bytes the CLI writes.
    page.click("text=Exports")
    page.select_option("#x-flow", FLOW)
    shoot(page, "exports")
    with page.expect_download() as download:
        page.click("#download-flow")
    data = Path(download.value.path()).read_bytes()
    out = tmp_path / "cli.csv"
    cli(campaign_env, tmp_path, "export", "--flow", FLOW, "--output", str(out))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read(f"{FLOW}-wide.csv") == out.read_bytes()

    page.click("text=Groups and invite links")
    page.click("tr[data-group=partners] button.invite")
    page.wait_for_selector("#invite-qr")
    assert page.inner_text("#invite-link").startswith("https://t.me/")
    shoot(page, "groups")
    page.click("text=Flows")
    assert "reporter-interview" in page.inner_text("#flows")
    shoot(page, "flows")
    page.click("text=Audit log")
    assert "campaign_started" in page.inner_text("#audit")
    shoot(page, "audit")
    # German, with the switch; and on a phone.
    page.click("button[value=de]")
    page.wait_for_selector("text=Protokoll")
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{base}/console/")
    assert "Übersicht" in phone.inner_text("nav")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone's screen
    shoot(phone, "dashboard-phone")

    # Another site's form posting to the console: the cookie stays home (SameSite=Strict)
    # and the request is refused; nothing was created.
    evil = context.new_page()
    evil.set_content(
        f'<form method="post" action="{base}/console/groups">'
        '<input name="name" value="evil"><input name="csrf" value="x"></form>'
    )
    with evil.expect_navigation():
        evil.evaluate("document.forms[0].submit()")
    assert "evil" not in page.context.new_page().goto(f"{base}/console/groups").text()

    page.click("#logout")
    page.wait_for_selector("#message")
    shoot(page, "logged-out")
    page.goto(f"{base}/console/")
    assert "/console" in page.inner_text("#message")
    assert outside == [], f"the console loaded something from outside: {outside}"
    context.close()
