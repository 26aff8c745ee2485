"""Results back to the people who took part, end to end: /results and `backbone results
send` plan messages in the outbox; the running bot delivers them in each person's language
with charts, never in quiet hours, never to people who opted out; small cells (groups of 3)
are hidden, groups of 7 shown; running campaigns, open sessions, non-staff people, forged,
foreign and replayed buttons are refused and change nothing."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Campaign, FlowVersion, Participant, Run
from storage.models_results import ResultDelivery, ResultSend
from storage.repo import Database
from tests.e2e.conftest import backbone_command
from tests.e2e.helpers import _query, act
from tests.e2e.test_campaigns import (  # noqa: F401 (fixtures)
    ADMIN,
    FLOW,
    NEVER_QUIET,
    admin_ready,
    campaign_env,
    en_bot,
    seed_members,
    zone,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def rbot(en_bot):  # noqa: F811
    """The campaign tests' bot (shipped flows plus FLOW, a daytime zone), English default."""
    return en_bot


@pytest.fixture
def day_zone(zone) -> str:  # noqa: F811
    return zone


@pytest.fixture
def env(campaign_env) -> dict[str, str]:  # noqa: F811
    return campaign_env


HEAD_EN = "📊 Results: “Quick check”"
HEAD_DE = "📊 Ergebnisse: „Quick check“"


def seed_campaign(fake_api, url, people: dict[int, tuple[str, str]], *, status="finished",
                  quiet=NEVER_QUIET, group="partners") -> int:  # fmt: skip
    """A campaign of FLOW whose `people` (user id: (mood, clarity)) answered it completely."""
    seed_members(fake_api, url, group, list(people))
    now = datetime.now(UTC)

    async def go():
        db = Database(url)
        try:
            async with db.transaction() as repo:
                s = repo.session
                campaign = Campaign(
                    flow_id=FLOW, groups=[group], status=status, start_at=now - timedelta(days=2),
                    deadline=now + timedelta(hours=-1 if status == "finished" else 24),
                    remind_after=[], max_reminders=0,
                    quiet_start=quiet[0], quiet_end=quiet[1], texts={}, created_by="P-TEST01",
                )  # fmt: skip
                version = FlowVersion(
                    flow_id=FLOW, version="1", content_hash=secrets.token_hex(8), definition={}
                )
                s.add_all([campaign, version])
                await s.flush()
                for uid, (mood, clarity) in people.items():
                    identity = await repo.identity_by_telegram(uid)
                    run = Run(
                        participant_id=identity.participant_id, flow_version_id=version.id,
                        locale="en", status="complete", state={}, campaign_id=campaign.id,
                    )  # fmt: skip
                    s.add(run)
                    await s.flush()
                    await repo.save_answer(run.id, "mood", mood, False, "How is it going?", "en")
                    await repo.save_answer(run.id, "clarity", clarity, False, "Clear?", "en")
                return campaign.id
        finally:
            await db.dispose()

    return asyncio.run(go())


def set_person(url, uid: int, **values) -> None:
    async def fn(session):
        from storage.models import Identity

        identity = await session.scalar(select(Identity).where(Identity.telegram_user_id == uid))
        person = await session.get(Participant, identity.participant_id)
        for key, value in values.items():
            setattr(person, key, value)

    _query(url, fn)


def result_rows(url) -> list[ResultDelivery]:
    async def fn(session):
        return list((await session.scalars(select(ResultDelivery).order_by("id"))).all())

    return _query(url, fn)


def sends(url) -> list[ResultSend]:
    async def fn(session):
        return list((await session.scalars(select(ResultSend).order_by("id"))).all())

    return _query(url, fn)


def audit(url, action: str) -> list[AuditEntry]:
    async def fn(session):
        stmt = select(AuditEntry).where(AuditEntry.action == action)
        return list((await session.scalars(stmt)).all())

    return _query(url, fn)


def texts_to(fake_api, uid: int) -> list[str]:
    return [m.content for m in fake_api.user(uid).messages()]


def send_results(admin, command: str):
    """Staff send `command`, see the preview and confirm it."""
    preview = act(admin, lambda: admin.send(command), "✅")
    act(admin, lambda: admin.press("✅", preview.message_id), "planned")
    return preview


def wait_until(predicate, timeout: float = 20.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_results_reach_everyone_in_their_language_small_cells_hidden(rbot, fake_api, migrated_url):
    # mood: 7 good (shown), 0 bad; clarity: 4 clear, 3 unclear (both cells under 5).
    people = {2000 + i: ("good", "clear" if i < 4 else "unclear") for i in range(7)}
    cid = seed_campaign(fake_api, migrated_url, people)
    set_person(migrated_url, 2001, locale="de")
    set_person(migrated_url, 2006, opted_out=True)
    admin = admin_ready(fake_api)

    preview = send_results(admin, f"/results campaign {cid} Thank you, partners!")
    assert "7 took part" in preview.content and "They go to 6" in preview.content
    assert "Good: 7" in preview.content

    en = fake_api.user(2000).wait_for(HEAD_EN, timeout=20)
    text = en.content
    assert "Thank you, partners!" in text
    assert "Good: 7" in text and "Not so good: fewer than 5" in text
    assert "Clear: fewer than 5" in text and "Unclear: fewer than 5" in text
    assert "(at least 7 people answered)" in text and "(at least 5 people answered)" in text
    assert ": 4" not in text and ": 3" not in text and "%" not in text  # nothing to subtract
    de = fake_api.user(2001).wait_for(HEAD_DE, timeout=20).content
    assert "weniger als 5" in de and "Thank you, partners!" in de
    wait_until(
        lambda: all(
            sum(m.kind == "photo" for m in fake_api.user(u).messages()) == 2
            for u in people
            if u != 2006
        ),
        what="two charts each",
    )
    time.sleep(1)
    assert not any("Results" in t for t in texts_to(fake_api, 2006))  # opted out: nothing
    rows = result_rows(migrated_url)
    assert sorted(r.status for r in rows) == ["sent"] * 6 + ["skipped"]
    assert [r.error for r in rows if r.status == "skipped"] == ["opted out"]
    [entry] = audit(migrated_url, "results_sent")
    assert entry.details["campaign"] == cid and entry.details["people"] == 7

    # Sending twice is refused unless --again; a replayed confirm button does nothing.
    act(admin, lambda: admin.send(f"/results campaign {cid}"), "--again")
    admin.press_data(f"b:{sends(migrated_url)[0].id}:ok")
    time.sleep(1)
    assert len(result_rows(migrated_url)) == 7
    send_results(admin, f"/results campaign {cid} --again")
    wait_until(lambda: len([r for r in result_rows(migrated_url) if r.status == "sent"]) == 12)
    assert len(audit(migrated_url, "results_sent")) == 2


def test_a_running_campaign_and_a_non_staff_person_are_refused(rbot, fake_api, migrated_url):
    cid = seed_campaign(fake_api, migrated_url, {2100: ("good", "clear")}, status="running")
    admin = admin_ready(fake_api)
    act(admin, lambda: admin.send(f"/results campaign {cid}"), "only when it is over")
    act(admin, lambda: admin.send("/results campaign 999"), "There is no campaign 999")
    act(admin, lambda: admin.send("/results campaign x1"), "Usage: /results")
    act(admin, lambda: admin.send("/results session NOPE42"), "no session")

    finished = seed_campaign(fake_api, migrated_url, {2101: ("bad", "clear")}, group="others")
    person = fake_api.user(2101)
    act(person, lambda: person.send(f"/results campaign {finished}"), "only for the backbone team")
    # A staff member's draft: its button pressed by somebody else (forged) does nothing.
    act(admin, lambda: admin.send(f"/results campaign {finished}"), "✅")
    [draft] = sends(migrated_url)
    person.press_data(f"b:{draft.id}:ok")
    person.press_data("b:99999:ok")
    person.press_data("b:1:maybe")
    # All three answered while they were a participant, before the role changes.
    wait_until(lambda: len(person.callback_answers()) >= 3, what="three taps answered")
    # Another staff member cannot confirm (or cancel) a draft that is not theirs.
    set_person(migrated_url, 2101, role="facilitator")
    colleague = fake_api.user(2101)
    colleague.press_data(f"b:{draft.id}:ok")
    colleague.press_data(f"b:{draft.id}:no")
    wait_until(lambda: len(colleague.callback_answers()) >= 5, what="five taps answered")
    assert sends(migrated_url) != []  # the draft is still there, unconfirmed
    toasts = [a.get("text") or "" for a in colleague.callback_answers()]
    assert "only for the backbone team" in toasts[0], toasts  # not staff (yet)
    assert all("does not work" in text for text in toasts[-2:]), toasts  # not their draft
    assert result_rows(migrated_url) == [] and audit(migrated_url, "results_sent") == []
    assert sends(migrated_url)[0].confirmed_at is None


def test_results_wait_for_the_morning_in_quiet_hours(rbot, fake_api, migrated_url, day_zone):
    local = datetime.now(ZoneInfo(day_zone))
    quiet = (
        (local - timedelta(hours=1)).strftime("%H:%M"),
        (local + timedelta(hours=1)).strftime("%H:%M"),
    )
    cid = seed_campaign(fake_api, migrated_url, {2200: ("good", "clear")}, quiet=quiet)
    admin = admin_ready(fake_api)
    send_results(admin, f"/results campaign {cid}")
    rows = wait_until(
        lambda: [r for r in result_rows(migrated_url) if r.due_at > datetime.now(UTC)],
        what="the message to be postponed",
    )
    time.sleep(2)
    assert not any(HEAD_EN in t for t in texts_to(fake_api, 2200))
    end_hour, end_minute = map(int, quiet[1].split(":"))
    morning = local.replace(hour=end_hour, minute=end_minute, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    assert [r.due_at for r in rows] == [morning.astimezone(UTC)]
    assert [r.status for r in result_rows(migrated_url)] == ["pending"]


def _session_with_votes(fake_api, admin, users, choice_of, flags="--show-results"):
    """A session the users joined and voted in (one poll), then ended; returns its code."""
    started = act(admin, lambda: admin.send("/session Round table"), "?start=S")
    code = started.content.split("?start=S")[1][:6]
    for user in users:
        act(user, lambda u=user: u.send(f"/start S{code}"), "✅")
        act(user, lambda u=user: u.press("✅"), "joined")
    act(admin, lambda: admin.send(f"/poll {flags} Which first? | Alpha | Beta"), "Which first?")
    for user in users:
        ballot = user.wait_for("Which first?")
        user.press(choice_of(user), ballot.message_id)
    admin.wait_for(f"{len(users)} voted", timeout=15)
    return code


def test_show_results_and_session_results_hide_a_group_of_three(rbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    users = [fake_api.user(2300 + i, f"S{i}", "en") for i in range(3)]
    code = _session_with_votes(fake_api, admin, users, lambda u: "Alpha")
    act(admin, lambda: admin.send(f"/results session {code}"), "still open")
    act(admin, lambda: admin.send("/close"), "🏁")
    final = users[0].wait_for("🏁", timeout=10).content
    assert "Alpha: fewer than 5" in final and "Beta: fewer than 5" in final
    assert "3" not in final
    facilitator = admin.wait_for("🏁").content  # the facilitator keeps the full figures
    assert "3 · " in facilitator
    act(admin, lambda: admin.send("/session end"), "ended")
    send_results(admin, f"/results session {code}")
    got = users[1].wait_for("📊 Results: “Round table”", timeout=20).content
    assert "Alpha: fewer than 5" in got and "fewer than 5 people answered" in got
    [entry] = audit(migrated_url, "results_sent")
    assert entry.details["session"] == code


def test_seven_voters_are_shown(rbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    users = [fake_api.user(2400 + i, f"V{i}", "en") for i in range(7)]
    code = _session_with_votes(fake_api, admin, users, lambda u: "Alpha")
    act(admin, lambda: admin.send("/close"), "🏁")
    final = users[0].wait_for("🏁", timeout=10).content
    assert "Alpha: 7" in final and "Beta: fewer than 5" in final
    act(admin, lambda: admin.send("/session end"), "ended")
    send_results(admin, f"/results session {code}")
    got = users[6].wait_for("📊 Results", timeout=20).content
    assert "Alpha: 7" in got and "at least 7 people answered" in got


def test_cli_previews_confirms_and_the_bot_sends(rbot, fake_api, migrated_url, env):
    people = {2500 + i: ("bad", "unclear") for i in range(5)}
    cid = seed_campaign(fake_api, migrated_url, people)
    run = lambda *args, stdin="": subprocess.run(  # noqa: E731
        [*backbone_command(), "results", "send", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    declined = run("--campaign", str(cid), stdin="n\n")
    assert declined.returncode == 1, declined.stderr
    assert "5 took part" in declined.stdout and "Not so good: 5" in declined.stdout
    assert result_rows(migrated_url) == [] and sends(migrated_url) == []
    both = run("--campaign", str(cid), "--session", "ABCDEF")
    assert both.returncode == 2
    sent = run("--campaign", str(cid), "--yes", "--message", "Danke!")
    assert sent.returncode == 0, sent.stderr
    assert "Planned 5" in sent.stdout
    got = fake_api.user(2503).wait_for(HEAD_EN, timeout=20).content
    assert "Danke!" in got and "Not so good: 5" in got and "Good: fewer than 5" in got
    again = run("--campaign", str(cid), "--yes")
    assert again.returncode == 1 and "--again" in again.stderr
    assert audit(migrated_url, "results_sent")[0].actor == "cli"


def test_someone_who_blocked_the_bot_is_marked_unreachable(rbot, fake_api, migrated_url):
    cid = seed_campaign(fake_api, migrated_url, {2600: ("good", "clear"), 2601: ("bad", "clear")})
    fake_api.block(2601, notify=False)
    admin = admin_ready(fake_api)
    send_results(admin, f"/results campaign {cid}")
    fake_api.user(2600).wait_for(HEAD_EN, timeout=20)
    rows = wait_until(
        lambda: [r for r in result_rows(migrated_url) if r.status == "failed"],
        what="the blocked person's message to fail",
    )
    assert len(rows) == 1 and rows[0].error  # Telegram's 403, recorded

    async def fn(session):
        return await session.get(Participant, rows[0].participant_id)

    assert _query(migrated_url, fn).unreachable is True
