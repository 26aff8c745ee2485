"""The staff console against the real `backbone run` and the fake Bot API: the one-time
login link, the session cookie, CSRF, the role checked on every request, and the hostile
cases (a link used twice, an expired one, a participant's, a revoked staff member's, a
missing or wrong CSRF token, another site's form, an expired cookie)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.services.console import COOKIE, new_token, token_hash
from storage import console as store
from storage.models import AuditEntry, Participant
from storage.models_console import ConsoleSession
from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import _query, act
from tests.e2e.test_campaigns import ADMIN, admin_ready, campaign_env, zone  # noqa: F401
from tests.e2e.test_web import free_port

pytestmark = pytest.mark.e2e

LINK = r"/console/login/[A-Za-z0-9_-]{40,}"


@pytest.fixture
def console_bot(fake_api, campaign_env, tmp_path) -> Iterator[tuple[BotProcess, str]]:  # noqa: F811
    """A running bot with its web server (and the console) on a free port."""
    port = free_port()
    env = {**campaign_env, "BACKBONE_WEB_PORT": str(port)}
    process = BotProcess(fake_api, env, tmp_path)
    process.start()
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.stop()
        assert "Traceback" not in process.log(), process.log()


def login_link(person, base: str) -> str:
    """Ask the bot for a login link with /console."""
    reply = act(person, lambda: person.send("/console"), "/console/login/")
    found = re.search(re.escape(base) + LINK, reply.content)
    assert found, reply.content
    return found.group(0)


def sign_in(client: httpx.Client, link: str) -> httpx.Response:
    """What the browser does: open the link (a page with a button), press the button."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    return client.post(link.rsplit("/", 1)[0], data={"token": token})


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)


def signed_in_client(person, base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=20)
    answer = sign_in(client, login_link(person, base))
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    return client


def pseudonym_of(url: str, telegram_id: int) -> str:
    from storage.models import Identity

    async def fn(session):
        stmt = select(Participant.pseudonym).join(
            Identity, Identity.participant_id == Participant.id
        )
        return (
            await session.execute(stmt.where(Identity.telegram_user_id == telegram_id))
        ).scalar()

    return _query(url, fn)


def audit_count(url: str, action: str) -> int:
    async def fn(session):
        stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        return await session.scalar(stmt)

    return _query(url, fn)


def test_login_by_link_cookie_logout(console_bot, fake_api, migrated_url) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    link = login_link(admin, base)
    client = httpx.Client(base_url=base, timeout=20)
    # Opening the link (or a link preview fetching it) spends nothing.
    assert client.get(link).status_code == 200 and client.get(link).status_code == 200
    answer = sign_in(client, link)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = answer.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/console" in cookie and "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain http here; https PUBLIC_URL sets it (unit test)
    page = client.get("/console/")
    assert page.status_code == 200
    pseudonym = pseudonym_of(migrated_url, ADMIN)
    assert pseudonym in page.text and str(ADMIN) not in page.text and "Ada" not in page.text
    assert "Content-Security-Policy" in page.headers and page.headers["cache-control"] == "no-store"
    # The session's hash is stored, not the cookie.
    value = client.cookies[COOKIE]

    async def hashes(session):
        return list((await session.scalars(select(ConsoleSession.token_hash))).all())

    assert _query(migrated_url, hashes) == [token_hash(value)]
    # The same link a second time: refused, and this browser is still signed in.
    other = httpx.Client(base_url=base, timeout=20)
    again = sign_in(other, link)
    assert again.status_code == 403 and "nicht (mehr) gültig" in again.text  # de: default
    assert COOKIE not in other.cookies
    # Logout needs the form's token; then the cookie is worthless.
    assert client.post("/console/logout", data={}).status_code == 403
    assert client.get("/console/").status_code == 200
    out = client.post("/console/logout", data={"csrf": csrf_of(page)})
    assert out.status_code == 200 and "logged out" in out.text
    reused = httpx.get(f"{base}/console/", cookies={COOKIE: value})
    assert reused.status_code == 401
    assert audit_count(migrated_url, "console_login") == 1
    assert audit_count(migrated_url, "console_logout") == 1


def test_participants_get_no_link(console_bot, fake_api) -> None:
    _, base = console_bot
    anna = fake_api.user(601, "Anna", "de")
    act(anna, lambda: anna.send("/start"), "/privacy")
    act(anna, lambda: anna.press("✅"), lambda m: True)
    refusal = act(anna, lambda: anna.send("/console"), lambda m: True)
    assert "/console/login/" not in refusal.content
    assert "nur für das Backbone-Team" in refusal.content
    # Unknown tokens and no cookie at all: refused.
    assert httpx.post(f"{base}/console/login", data={"token": "x" * 43}).status_code == 403
    assert httpx.get(f"{base}/console/").status_code == 401
    assert httpx.get(f"{base}/console/campaigns").status_code == 401


def test_expired_link_and_expired_cookie(console_bot, fake_api, migrated_url) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    login_link(admin, base)  # the admin exists and has asked once
    token, session = new_token(), new_token()
    past = datetime.now(UTC) - timedelta(seconds=1)

    async def plant(session_):
        from storage.repo import Repo

        repo = Repo(session_)
        pid = (await session_.execute(select(Participant.id))).scalars().first()
        await store.add_login(repo, pid, token_hash(token), past)
        await store.add_session(repo, pid, token_hash(session), "en", past)

    _query(migrated_url, plant)
    expired = httpx.post(f"{base}/console/login", data={"token": token})
    assert expired.status_code == 403 and COOKIE not in expired.cookies
    stale = httpx.get(f"{base}/console/", cookies={COOKIE: session})
    assert stale.status_code == 401 and "nicht (mehr) angemeldet" in stale.text


def test_csrf_and_origin_are_checked(console_bot, fake_api, migrated_url) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    client = signed_in_client(admin, base)
    page = client.get("/console/groups")
    token = csrf_of(page)
    created = audit_count(migrated_url, "group_created")
    for data, headers in (
        ({"name": "forged"}, {}),  # no token
        ({"name": "forged", "csrf": "0" * 64}, {}),  # a wrong one
        ({"name": "forged", "csrf": token[:-1]}, {}),  # almost right
        ({"name": "forged", "csrf": token}, {"Origin": "https://evil.example"}),
        ({"name": "forged", "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
    ):
        refused = client.post("/console/groups", data=data, headers=headers)
        assert refused.status_code == 403, (data, headers, refused.text)
        assert "Nothing was changed" in refused.text
    # Another session's token is no good either.
    other = signed_in_client(admin, base)
    foreign = csrf_of(other.get("/console/"))
    assert (
        client.post("/console/groups", data={"name": "forged", "csrf": foreign}).status_code == 403
    )
    assert audit_count(migrated_url, "group_created") == created
    assert "forged" not in client.get("/console/groups").text
    # With its own token and origin, the same form works.
    made = client.post(
        "/console/groups", data={"name": "partners", "csrf": token}, headers={"Origin": base}
    )
    assert made.status_code == 303
    assert "partners" in client.get("/console/groups").text
    assert audit_count(migrated_url, "group_created") == created + 1


def test_revoked_staff_are_signed_out_and_their_links_refused(
    console_bot, fake_api, migrated_url
) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    grant = act(admin, lambda: admin.send("/grant facilitator"), "?start=")
    payload = re.search(r"\?start=(\S+)", grant.content).group(1)
    fay = fake_api.user(602, "Fay", "en")
    act(fay, lambda: fay.send(f"/start {payload}"), "/privacy")
    act(fay, lambda: fay.press("✅"), lambda m: True)
    fay.wait_for("facilitator")
    client = signed_in_client(fay, base)
    spare = login_link(fay, base)
    page = client.get("/console/")
    assert page.status_code == 200 and "facilitator" in page.text
    # A facilitator looks, but admins' pages and changes are refused.
    assert client.get("/console/exports").status_code == 403
    assert client.get("/console/audit").status_code == 403
    refused = client.post("/console/groups", data={"name": "x", "csrf": csrf_of(page)})
    assert refused.status_code == 403
    pseudonym = pseudonym_of(migrated_url, 602)
    act(admin, lambda: admin.send(f"/revoke {pseudonym}"), "participant")
    # The very next request finds the role gone: signed out for good.
    assert client.get("/console/").status_code == 401
    assert client.get("/console/campaigns").status_code == 401
    later = sign_in(httpx.Client(base_url=base, timeout=20), spare)
    assert later.status_code == 403
    assert audit_count(migrated_url, "console_login_refused") == 1
