"""The console's sign-in pieces on their own: tokens, CSRF, languages, and (on a real
database) the 10-minute link, the 8-hour session, the role re-check and the Secure cookie
behind https — time moved by the injected clock, not by sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.services.console import (
    COOKIE,
    LOGIN_VALID,
    SESSION_VALID,
    ConsoleAuth,
    console_locale,
    csrf_ok,
    csrf_token,
    login_url,
    new_token,
    token_hash,
)
from storage import console as store
from storage.repo import Database


def test_tokens_are_random_and_only_their_hash_is_kept() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 43
    assert token_hash(a) != a and len(token_hash(a)) == 64 and token_hash(a) == token_hash(a)
    assert login_url("https://x.example/", a) == f"https://x.example/console/login/{a}"


def test_csrf_belongs_to_one_session() -> None:
    session, other = new_token(), new_token()
    good = csrf_token(session)
    assert csrf_ok(session, good)
    for bad in (None, "", good[:-1], good + "0", csrf_token(other), good.upper()):
        assert not csrf_ok(session, bad), bad
    # Not derivable from what the database keeps.
    assert csrf_token(token_hash(session)) != good


def test_console_speaks_german_and_english() -> None:
    assert console_locale("de", "en") == "de"
    assert console_locale("tr", "de") == "de"
    assert console_locale("ar", "tr") == "en"
    assert console_locale(None, "en") == "en"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _person(url: str, user_id: int, role: str) -> int:
    db = Database(url)
    try:
        async with db.transaction() as repo:
            identity = await repo.add_participant(user_id, user_id, "Ada", None, "de")
            identity.participant.role = role
            return identity.participant_id
    finally:
        await db.dispose()


async def _login(url: str, participant_id: int, expires: datetime) -> str:
    token = new_token()
    db = Database(url)
    try:
        async with db.transaction() as repo:
            await store.add_login(repo, participant_id, token_hash(token), expires)
    finally:
        await db.dispose()
    return token


async def _set_role(url: str, participant_id: int, role: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as repo:
            (await repo.participant(participant_id)).role = role
    finally:
        await db.dispose()


@pytest.mark.storage
def test_link_lasts_ten_minutes_and_works_once(migrated_url: str) -> None:
    clock = Clock()
    pid = asyncio.run(_person(migrated_url, 1, "facilitator"))

    async def go():
        db = Database(migrated_url)
        auth = ConsoleAuth(db, frozenset(), clock, "de")
        try:
            late = await _login(migrated_url, pid, clock.now + LOGIN_VALID)
            clock.now += LOGIN_VALID + timedelta(seconds=1)
            assert await auth.redeem(late) is None
            fresh = await _login(migrated_url, pid, clock.now + LOGIN_VALID)
            session = await auth.redeem(fresh)
            assert session is not None and await auth.redeem(fresh) is None
            who = await auth.who(session)
            assert who.role == "facilitator" and who.locale == "de" and not who.is_admin
            clock.now += SESSION_VALID - timedelta(seconds=1)
            assert await auth.who(session) is not None
            clock.now += timedelta(seconds=2)
            assert await auth.who(session) is None  # 8 hours are over
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.mark.storage
def test_role_is_checked_on_every_request(migrated_url: str) -> None:
    clock = Clock()
    pid = asyncio.run(_person(migrated_url, 42, "participant"))

    async def go():
        db = Database(migrated_url)
        configured = ConsoleAuth(db, frozenset({42}), clock, "en")
        try:
            # An admin by BACKBONE_ADMIN_IDS, whatever the database says.
            session = await configured.redeem(
                await _login(migrated_url, pid, clock.now + LOGIN_VALID)
            )
            assert (await configured.who(session)).role == "admin"
            # The setting loses the id (a restart): the very next request is refused, for good.
            unlisted = ConsoleAuth(db, frozenset(), clock, "en")
            assert await unlisted.who(session) is None
            assert await configured.who(session) is None  # the session was ended
            # A participant's link (made while they were staff) signs nobody in.
            await _set_role(migrated_url, pid, "facilitator")
            link = await _login(migrated_url, pid, clock.now + LOGIN_VALID)
            await _set_role(migrated_url, pid, "participant")
            assert await unlisted.redeem(link) is None
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.mark.storage
def test_cookie_is_secure_behind_https(migrated_url: str, tmp_path: Path) -> None:
    from bot.web.console_app import Console

    clock = Clock()
    pid = asyncio.run(_person(migrated_url, 7, "admin"))
    settings = SimpleNamespace(
        admin_ids=[],
        default_locale="de",
        timezone="Europe/Berlin",
        web_url="https://console.example.org",
        flows_dir=tmp_path,
        zone=ZoneInfo("Europe/Berlin"),
        media_dir=tmp_path,
    )
    token = asyncio.run(_login(migrated_url, pid, clock.now + LOGIN_VALID))
    db = Database(migrated_url)
    console = Console(db, settings, "backbone_test_bot", clock=clock)
    app = Starlette(routes=console.routes())
    with TestClient(app, base_url="https://console.example.org") as client:
        answer = client.post(
            "/console/login",
            data={"token": token},
            headers={"Origin": "https://console.example.org"},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert client.get("/console/").status_code == 200
        clock.now += SESSION_VALID
        expired = client.get("/console/")
        assert expired.status_code == 401
        assert f"{COOKIE}=" in expired.headers.get("set-cookie", "")  # dropped by the browser
    asyncio.run(db.dispose())


def test_flows_page_shows_what_flows_check_reports(tmp_path: Path) -> None:
    from bot.services.console_views import flows_overview
    from tests.e2e.test_campaigns import FLOW_YAML

    (tmp_path / "quick-check.yaml").write_text(FLOW_YAML, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("id: broken\nsteps: [\n", encoding="utf-8")
    flows, problems = flows_overview(tmp_path, "en")
    assert [(f.id, f.title, f.languages) for f in flows] == [("quick-check", "Quick check", ["en"])]
    assert problems and any(p.startswith("broken.yaml") for p in problems), problems
    assert not any(str(tmp_path) in p for p in problems)  # no machine paths on the page
