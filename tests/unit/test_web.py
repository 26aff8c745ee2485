"""The web server's pages on a real database: health checks, the projector page and its live
stream (SQLite, and PostgreSQL when BACKBONE_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from bot.services.poll_views import new_code
from bot.services.projector import Projector, new_token, projector_link
from bot.web.app import create_app
from flows.agenda import parse_quick_poll
from storage import polls as queries
from storage.migrate import upgrade
from storage.models import utcnow
from storage.repo import Database

pytestmark = pytest.mark.storage


async def seed(url: str, poll: str | None, votes: list, locale: str = "en", people: int = 3):
    """A facilitator's open session with a projector token, `people` members, and optionally
    an open poll with `votes`. Returns (token, session id, poll id)."""
    db = Database(url)
    try:
        async with db.transaction() as repo:
            boss = (await repo.add_participant(9000, 9000, "F", None, locale)).participant
            boss.locale = locale
            token = new_token()
            session = await queries.add_session(
                repo,
                new_code,
                title="Steering circle",
                facilitator_id=boss.id,
                facilitator_chat_id=9000,
                projector_token=token,
            )
            for n in range(people):
                person = (await repo.add_participant(100 + n, 100 + n, "P", None, "en")).participant
                await queries.add_member(repo, session.id, person.id)
            poll_id = None
            if poll is not None:
                poll_id = await add_poll(repo, session.id, poll, votes)
        return token, session.id, poll_id
    finally:
        await db.dispose()


async def add_poll(repo, session_id: int, text: str, votes: list) -> int:
    spec = parse_quick_poll(text)
    poll = await queries.add_poll(
        repo,
        session_id=session_id,
        spec=spec.model_dump(mode="json"),
        anonymous=True,
        salt="s" * 32,
        opened_by="F",
    )
    for n, value in enumerate(votes):
        await queries.store_vote(repo, poll, f"voter{n}", None, None, value, utcnow())
    return poll.id


async def vote(url: str, poll_id: int, key: str, value) -> None:
    db = Database(url)
    try:
        async with db.transaction() as repo:
            poll = await queries.poll(repo, poll_id)
            await queries.store_vote(repo, poll, key, None, None, value, utcnow())
    finally:
        await db.dispose()


async def close_session(url: str, session_id: int) -> None:
    db = Database(url)
    try:
        async with db.transaction() as repo:
            queries.close_session(await queries.poll_session(repo, session_id), utcnow())
    finally:
        await db.dispose()


class Web:
    """The app on one database, and a client talking to it in-process."""

    def __init__(self, url: str, max_age: float = 0.0) -> None:
        self.db = Database(url)
        # Single votes are counted here; small cells: tests/unit/test_projector_cells.py.
        self.projector = Projector(self.db, "de", "test_bot", max_age=max_age, min_cell_size=1)
        self.app = create_app(self.projector, url, poll_every=0.05)
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://projector")

    async def close(self) -> None:
        await self.client.aclose()
        await self.db.dispose()


@pytest.fixture
async def web(migrated_url: str):
    w = Web(migrated_url)
    try:
        yield w
    finally:
        await w.close()


def table(html: str) -> dict[str, tuple[int, str]]:
    """label -> (count, percentage) from the page's results table."""
    rows = re.findall(
        r'<th scope="row" class="label">(.*?)</th>\s*<td class="count">(\d+)</td>.*?'
        r'<span class="pct">(.*?)</span>',
        html,
        re.S,
    )
    return {label: (int(count), pct) for label, count, pct in rows}


async def test_health_and_readiness(web: Web) -> None:
    assert (await web.client.get("/healthz")).json() == {"status": "ok"}
    ready = await web.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_not_ready_when_the_schema_is_behind(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url, "0005")
    w = Web(database_url)
    try:
        answer = await w.client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "reason": "schema not at head"}
        assert (await w.client.get("/healthz")).status_code == 200
    finally:
        await w.close()


async def test_not_ready_without_a_database(tmp_path) -> None:
    w = Web(f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}")
    try:
        answer = await w.client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["status"] == "unavailable"
        assert not (tmp_path / "missing.db").exists()  # the check created nothing
    finally:
        await w.close()


async def test_projector_page_shows_session_join_code_qr_and_results(
    web: Web, migrated_url: str
) -> None:
    token, _, _ = await seed(
        migrated_url, "Which problem first? | Housing | Jobs", [["a"]] * 2 + [["b"]]
    )
    page = await web.client.get(f"/p/{token}")
    assert page.status_code == 200
    html = page.text
    assert "Steering circle" in html and "Which problem first?" in html
    assert re.search(r'<p class="code" id="code">[2-9A-Z]{6}</p>', html)
    assert "<svg" in html and "t.me/test_bot?start=S" in html  # the QR code's text equivalent
    assert "3 people joined" in html and "3 votes" in html
    assert table(html) == {"Housing": (2, "67%"), "Jobs": (1, "33%")}
    assert 'lang="en"' in html
    # Self-contained: every script and style sheet comes from this server.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert (await web.client.get(asset)).status_code == 200


async def test_scale_shows_distribution_and_mean_in_the_sessions_language(
    web: Web, migrated_url: str
) -> None:
    token, _, _ = await seed(
        migrated_url, "--scale 1-5 Wie klar ist deine Rolle?", [4, 5, 5, 2], "de"
    )
    html = (await web.client.get(f"/p/{token}")).text
    assert 'lang="de"' in html and "Teilnahmecode" in html
    rows = table(html)
    assert [label for label in rows] == ["1", "2", "3", "4", "5"]
    assert rows["5"][0] == 2 and rows["3"][0] == 0
    assert "Durchschnitt: 4" in html  # (4 + 5 + 5 + 2) / 4 = 4.0


async def test_words_are_a_cloud_with_counts(web: Web, migrated_url: str) -> None:
    token, _, _ = await seed(
        migrated_url, "--words One word?", [["trust", "slow"], ["trust"], ["trust", "open"]]
    )
    html = (await web.client.get(f"/p/{token}")).text
    cloud = re.findall(r'<li class="size-(\d)">(\w+) <span class="count">(\d+)</span>', html)
    # The most frequent word is the largest; every word is there with its count (as text).
    assert {word: (int(size), int(n)) for size, word, n in cloud} == {
        "trust": (5, 3),
        "slow": (2, 1),
        "open": (2, 1),
    }


async def test_no_open_poll_says_waiting(web: Web, migrated_url: str) -> None:
    token, _, _ = await seed(migrated_url, None, [])
    html = (await web.client.get(f"/p/{token}")).text
    assert "Waiting for the next question." in html and "<table" not in html


@pytest.mark.parametrize(
    "token", ["nope", "x" * 300, "' OR 1=1 --", "%2e%2e%2fhealthz", ""], ids=range(5)
)
async def test_unknown_tokens_get_the_not_found_page(web: Web, migrated_url: str, token) -> None:
    await seed(migrated_url, "Q? | A | B", [["a"]])
    for path in (f"/p/{token}", f"/p/{token}/events"):
        answer = await web.client.get(path)
        assert answer.status_code == 404
        assert "Steering circle" not in answer.text


async def test_a_closed_sessions_projector_is_gone(web: Web, migrated_url: str) -> None:
    token, session_id, _ = await seed(migrated_url, "Q? | A | B", [["a"]])
    assert (await web.client.get(f"/p/{token}")).status_code == 200
    await close_session(migrated_url, session_id)
    for path in (f"/p/{token}", f"/p/{token}/events"):
        answer = await web.client.get(path)
        assert answer.status_code == 404
        # In the default language: nobody's session is known any more.
        assert "Sitzung ist vorbei" in answer.text and "Steering circle" not in answer.text


async def test_stream_pushes_a_vote_and_ends_with_the_session(web: Web, migrated_url: str) -> None:
    token, session_id, poll_id = await seed(migrated_url, "Q? | Yes | No", [["a"]])
    stream = web.app.state.pages._stream(token)
    events = []

    async def next_data() -> dict:
        while True:
            chunk = await asyncio.wait_for(anext(stream), timeout=5)
            events.append(chunk)
            if chunk.startswith("data: "):
                return json.loads(chunk[len("data: ") :])
            if chunk.startswith("event: end"):
                return {"end": True}

    first = await next_data()
    assert table(first["html"]) == {"Yes": (1, "100%"), "No": (0, "0%")}
    started = asyncio.get_running_loop().time()
    await vote(migrated_url, poll_id, "late", ["b"])
    second = await next_data()
    assert asyncio.get_running_loop().time() - started < 1
    assert table(second["html"]) == {"Yes": (1, "50%"), "No": (1, "50%")}
    await close_session(migrated_url, session_id)
    assert await next_data() == {"end": True}
    # Nothing is sent while nothing changes: only the two views and the end.
    assert sum(e.startswith("data: ") for e in events) == 2


async def test_many_screens_cost_one_read(migrated_url: str, monkeypatch) -> None:
    token, _, _ = await seed(migrated_url, "Q? | A | B", [])
    w = Web(migrated_url, max_age=5)
    reads = 0
    original = w.projector.read

    async def counted(t):
        nonlocal reads
        reads += 1
        return await original(t)

    monkeypatch.setattr(w.projector, "read", counted)
    try:
        views = await asyncio.gather(*(w.projector.view(token) for _ in range(50)))
        assert reads == 1 and all(v == views[0] for v in views)
    finally:
        await w.close()


def test_tokens_are_unguessable_and_links_well_formed() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in tokens)
    assert projector_link("https://polls.example.org/", "abc") == "https://polls.example.org/p/abc"


def test_web_settings_defaults_and_bad_input(monkeypatch) -> None:
    from bot.settings import Settings, SettingsError, load_settings

    for name in ("BACKBONE_WEB_HOST", "BACKBONE_WEB_PORT", "BACKBONE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    plain = Settings(_env_file=None)
    assert (plain.web_host, plain.web_port, plain.web_url) == (
        "127.0.0.1",
        8080,
        "http://127.0.0.1:8080",
    )
    behind_proxy = Settings(_env_file=None, public_url="https://polls.example.org/")
    assert behind_proxy.web_url == "https://polls.example.org"
    for name, value in (
        ("BACKBONE_PUBLIC_URL", "polls.example.org"),
        ("BACKBONE_WEB_PORT", "70000"),
        ("BACKBONE_WEB_PORT", "eighty"),
    ):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            m.chdir(Path(__file__).parent)  # no .env here
            with pytest.raises(SettingsError, match=name):
                load_settings()
