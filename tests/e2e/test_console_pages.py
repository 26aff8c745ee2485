"""The console's pages against the real `backbone run`: a campaign created in the console
reaches the fake server's chats; pause, resume and cancel; exports downloaded from the
console are the CLI's files byte for byte; sessions, polls and their charts; flows; audit."""

# ruff: noqa: F811 (pytest fixtures imported from other test modules)
from __future__ import annotations

import io
import re
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Campaign
from tests.e2e.conftest import backbone_command
from tests.e2e.helpers import _query, act
from tests.e2e.test_campaigns import (  # noqa: F401 (fixtures)
    ADMIN,
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
from tests.e2e.test_console import console_bot, csrf_of, pseudonym_of, signed_in_client  # noqa: F401
from tests.e2e.test_polls import join as join_session
from tests.e2e.test_polls import open_session

pytestmark = pytest.mark.e2e


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*backbone_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def deadline_in(zone_name: str, days: int = 2) -> str:
    local = datetime.now(ZoneInfo(zone_name)) + timedelta(days=days)
    return local.strftime("%Y-%m-%dT%H:%M")


def campaign_rows(url: str) -> list[Campaign]:
    async def fn(session):
        return list((await session.scalars(select(Campaign).order_by(Campaign.id))).all())

    return _query(url, fn)


def audit_of(url: str, action: str) -> list[AuditEntry]:
    async def fn(session):
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await session.scalars(stmt)).all())

    return _query(url, fn)


def mark_uncertain(url: str, campaign_id: int, telegram_id: int) -> None:
    """As the sender leaves a row it was sending when the process died (see outbox)."""
    from storage.models import Delivery, Identity

    async def fn(session):
        stmt = select(Delivery).join(Identity, Identity.participant_id == Delivery.participant_id)
        stmt = stmt.where(
            Delivery.campaign_id == campaign_id, Identity.telegram_user_id == telegram_id
        )
        for delivery in (await session.scalars(stmt)).all():
            delivery.status = "uncertain"

    _query(url, fn)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_campaign_from_the_console_reaches_people_and_exports_match_the_cli(
    console_bot,
    fake_api,
    migrated_url,
    campaign_env,
    zone,
    tmp_path,  # noqa: F811
) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    anna = join(fake_api, 701, payload, "Anna")
    ben = join(fake_api, 702, payload, "Ben")
    client = signed_in_client(admin, base)
    me = pseudonym_of(migrated_url, ADMIN)
    form_page = client.get("/console/campaigns/new")
    assert form_page.status_code == 200 and FLOW in form_page.text
    token = csrf_of(form_page)
    form = {
        "csrf": token,
        "flow": FLOW,
        "group": "partners",
        "start": "",
        "deadline": deadline_in(zone),
        "remind": "",
        "max_reminders": "3",
        "quiet": "20:00-08:00",
        "every_months": "",
    }
    # A deadline before the start: the form again, with the reason; nothing created.
    bad = client.post("/console/campaigns/preview", data={**form, "deadline": "2020-01-01T10:00"})
    assert bad.status_code == 422 and "start" in bad.text
    preview = client.post("/console/campaigns/preview", data=form)
    assert preview.status_code == 200
    assert "People who would be invited: 2" in preview.text and "partners: 2" in preview.text
    assert campaign_rows(migrated_url) == []  # the preview creates nothing
    made = client.post("/console/campaigns/create", data=form)
    assert made.status_code == 303, made.text
    [campaign] = campaign_rows(migrated_url)
    assert made.headers["location"].startswith(f"/console/campaigns/{campaign.id}")
    assert campaign.created_by == me and campaign.status in ("scheduled", "running")
    started = audit_of(migrated_url, "campaign_started")
    assert [e.actor for e in started] == [me]
    # The running bot invites both, in their chats.
    anna.wait_for(INVITATION, timeout=30)
    ben.wait_for(INVITATION, timeout=30)
    act(anna, lambda: anna.press("▶"), FIRST_QUESTION)
    act(anna, lambda: anna.press("Good"), SECOND_QUESTION)
    act(anna, lambda: anna.press("Clear"), "Thank you")
    page = client.get(f"/console/campaigns/{campaign.id}")
    assert page.status_code == 200 and 'data-figure="invited">2<' in page.text
    assert "Nobody is uncertain." in page.text
    live = client.get("/console/live")
    assert f'data-campaign="{campaign.id}"' in live.text and "50%" in live.text
    # A message in flight during a crash is uncertain: the page names whom, by pseudonym.
    ben_pseudonym = pseudonym_of(migrated_url, 702)
    mark_uncertain(migrated_url, campaign.id, 702)
    page = client.get(f"/console/campaigns/{campaign.id}")
    assert 'data-figure="uncertain">1<' in page.text
    assert f'<li class="code">{ben_pseudonym}</li>' in page.text and "702" not in page.text

    # Pause, resume, cancel: the CLI's lifecycle, audited with the pseudonym.
    for action, status in (("pause", "paused"), ("resume", "running"), ("cancel", "cancelled")):
        done = client.post(f"/console/campaigns/{campaign.id}/{action}", data={"csrf": token})
        assert done.status_code == 303, (action, done.text)
        assert campaign_rows(migrated_url)[0].status == status
    again = client.post(f"/console/campaigns/{campaign.id}/resume", data={"csrf": token})
    assert again.status_code == 409 and campaign_rows(migrated_url)[0].status == "cancelled"
    assert [e.actor for e in audit_of(migrated_url, "campaign_cancel")] == [me]
    assert client.post("/console/campaigns/9999/pause", data={"csrf": token}).status_code == 404

    # Exports: the CLI's bytes, audited like the CLI's with the pseudonym as actor.
    out = tmp_path / f"{FLOW}.csv"
    cli(campaign_env, tmp_path, "export", "--flow", FLOW, "--output", str(out))
    got = client.post(
        "/console/exports/flow",
        data={"csrf": token, "flow": FLOW, "format": "csv", "layout": "wide"},
    )
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    files = unzip(got.content)
    assert sorted(files) == [f"{FLOW}-wide.codebook.csv", f"{FLOW}-wide.csv"]
    assert files[f"{FLOW}-wide.csv"] == out.read_bytes()
    assert files[f"{FLOW}-wide.codebook.csv"] == (tmp_path / f"{FLOW}.codebook.csv").read_bytes()
    long_out = tmp_path / "long.csv"
    cli(
        campaign_env,
        tmp_path,
        "export",
        "--flow",
        FLOW,
        "--layout",
        "long",
        "--campaign",
        str(campaign.id),
        "--excel",
        "--output",
        str(long_out),
    )
    got = client.post(
        "/console/exports/flow",
        data={
            "csrf": token,
            "flow": FLOW,
            "format": "csv",
            "layout": "long",
            "campaign": str(campaign.id),
            "excel": "1",
        },
    )
    files = unzip(got.content)
    assert files[f"{FLOW}-campaign-{campaign.id}-long.csv"] == long_out.read_bytes()
    exports = audit_of(migrated_url, "export")
    assert [e.actor for e in exports] == ["cli", me, "cli", me]
    assert exports[1].details == {**exports[0].details}
    xlsx = client.post(
        "/console/exports/flow",
        data={"csrf": token, "flow": FLOW, "format": "xlsx", "layout": "wide"},
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # Unknown flow, bad format: refused, nothing written or audited.
    for bad_form in (
        {"flow": "nope"},
        {"flow": FLOW, "format": "xls"},
        {"flow": FLOW, "layout": "tall"},
    ):
        refused = client.post(
            "/console/exports/flow",
            data={"csrf": token, "format": "csv", "layout": "wide", **bad_form},
        )
        assert refused.status_code == 404
    assert len(audit_of(migrated_url, "export")) == 5
    # Pseudonyms only, on every page.
    for path in (
        "/console/",
        "/console/campaigns",
        f"/console/campaigns/{campaign.id}",
        "/console/groups",
        "/console/audit",
        "/console/exports",
        "/console/flows",
    ):
        text = client.get(path).text
        for secret in ("701", "702", str(ADMIN), "Anna", "Ben", "Ada"):
            assert secret not in text, (path, secret)


def test_nobody_reachable_is_refused_in_the_console(
    console_bot, fake_api, migrated_url, zone
) -> None:  # noqa: F811
    _, base = console_bot
    admin = admin_ready(fake_api)
    client = signed_in_client(admin, base)
    token = csrf_of(client.get("/console/groups"))
    assert client.post("/console/groups", data={"csrf": token, "name": "empty"}).status_code == 303
    assert client.post("/console/groups", data={"csrf": token, "name": "empty"}).status_code == 409
    assert (
        client.post("/console/groups", data={"csrf": token, "name": "Bad Name!"}).status_code == 422
    )
    form = {"csrf": token, "flow": FLOW, "group": "empty", "deadline": deadline_in(zone)}
    preview = client.post("/console/campaigns/preview", data=form)
    assert (
        preview.status_code == 200
        and 'id="nobody"' in preview.text
        and 'id="confirm"' not in preview.text
    )
    refused = client.post("/console/campaigns/create", data=form)
    assert refused.status_code == 422 and campaign_rows(migrated_url) == []
    unknown = client.post("/console/campaigns/preview", data={**form, "group": "nosuch"})
    assert unknown.status_code == 422 and "nosuch" in unknown.text
    # An invite link with its QR code; its creator (this admin) is checked when it is used.
    made = client.post("/console/groups/empty/invite", data={"csrf": token, "parental": "1"})
    assert made.status_code == 200 and "data:image/png;base64," in made.text
    link = re.search(r'id="invite-link">([^<]+)<', made.text).group(1)
    assert link.startswith("https://t.me/") and "?start=" in link
    [entry] = audit_of(migrated_url, "group_link_created")
    me = pseudonym_of(migrated_url, ADMIN)
    assert entry.actor == me and entry.details["confirmed_by"] == me
    newcomer = fake_api.user(705, "Nia", "en")
    act(newcomer, lambda: newcomer.send(f"/start {link.split('?start=')[1]}"), "/privacy")


def test_sessions_polls_charts_and_minutes(
    console_bot, fake_api, migrated_url, campaign_env, tmp_path
) -> None:  # noqa: F811
    _, base = console_bot
    admin, code = open_session(fake_api)
    anna = join_session(fake_api, 601, code)
    act(admin, lambda: admin.send("/poll Was zuerst? | Praktika | Mentoring"), "Was zuerst?")
    anna.wait_for("Was zuerst?")
    anna.wait_callback_answer(anna.press("Praktika"))
    client = signed_in_client(admin, base)
    home = client.get("/console/")
    assert "Runder Tisch" in home.text and code in home.text and "Übersicht" in home.text  # German
    listing = client.get("/console/sessions")
    session_id = re.search(r'href="/console/sessions/(\d+)">' + code, listing.text).group(1)
    page = client.get(f"/console/sessions/{session_id}")
    assert "Was zuerst?" in page.text and 'class="num count">1<' in page.text
    poll_id = re.search(r'data-poll="(\d+)"', page.text).group(1)
    chart = client.get(f"/console/polls/{poll_id}/chart.png")
    assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG"
    assert client.get("/console/polls/9999/chart.png").status_code == 404
    token = csrf_of(page)
    # Questions from the room: the facilitator marks one answered from the console.
    act(anna, lambda: anna.send("/ask Wann gibt es Praktika?"), lambda m: True)
    page = client.get(f"/console/sessions/{session_id}")
    question_id = re.search(r'data-question="(\d+)"', page.text).group(1)
    assert "Wann gibt es Praktika?" in page.text and "601" not in page.text
    marked = client.post(
        f"/console/questions/{question_id}/answered", data={"csrf": token, "session": session_id}
    )
    assert marked.status_code == 303
    assert "Wann gibt es Praktika?" not in client.get(f"/console/sessions/{session_id}").text
    again = client.post(f"/console/questions/{question_id}/hidden", data={"csrf": token})
    assert again.status_code == 404  # no longer open
    forged = client.post(f"/console/questions/{question_id}/deleted", data={"csrf": token})
    assert forged.status_code == 404
    [entry] = audit_of(migrated_url, "question_answered")
    assert entry.actor == pseudonym_of(migrated_url, ADMIN)
    out = tmp_path / "minutes.csv"
    cli(campaign_env, tmp_path, "export", "polls", "--session", code, "--output", str(out))
    got = client.post(
        "/console/exports/session", data={"csrf": token, "session": code, "format": "csv"}
    )
    files = unzip(got.content)
    assert files[f"session-{code}.csv"] == out.read_bytes()
    assert files[f"session-{code}.summary.csv"] == (tmp_path / "minutes.summary.csv").read_bytes()
    assert (
        client.post(
            "/console/exports/session", data={"csrf": token, "session": "ZZZZZZ", "format": "csv"}
        ).status_code
        == 404
    )
    # The language switch: English from now on, for this browser session.
    switched = client.post(
        "/console/language", data={"csrf": token, "locale": "en", "back": "/console/sessions"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/console/sessions"
    assert "Sessions and polls" in client.get("/console/sessions").text
    odd = client.post(
        "/console/language", data={"csrf": token, "locale": "xx", "back": "https://evil.example/"}
    )
    assert odd.headers["location"] == "/console/"
    flows = client.get("/console/flows")
    assert flows.status_code == 200 and "reporter-interview" in flows.text and FLOW in flows.text
    audit = client.get("/console/audit")
    assert "export_polls" in audit.text and "console_login" in audit.text
