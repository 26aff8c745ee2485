"""Check-up campaigns end to end: invitations, reminders, quiet hours, deadlines, crashes,
Telegram errors, opting out, refusals and the admin's progress message.

Campaigns are made through the Telegram wizard where its choices fit; where a test needs
seconds instead of days (reminders, deadlines, quiet windows) it writes the campaign row
itself, exactly as a confirmed campaign looks (status "scheduled", remind_after in seconds).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from flows import SHIPPED_DIR
from storage.models import Campaign, Delivery, Identity, Participant, Run
from storage.repo import Database
from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import _query, act, onboard

pytestmark = pytest.mark.e2e

ADMIN = 9000  # in BACKBONE_ADMIN_IDS (see conftest)
FLOW = "quick-check"
FLOW_YAML = """\
id: quick-check
title: Quick check
version: "1"
language: en
steps:
  - id: mood
    type: single_choice
    text: How is the collaboration going?
    options:
      good: Good
      bad: Not so good
  - id: clarity
    type: single_choice
    text: Is your role in the alliance clear?
    options:
      clear: Clear
      unclear: Unclear
  - id: thanks
    type: message
    text: Thank you for your feedback!
"""
FIRST_QUESTION = "How is the collaboration going?"
SECOND_QUESTION = "Is your role in the alliance clear?"
INVITATION = "We would like to hear from you"
REMINDER = "A friendly reminder"
NEVER_QUIET = ("00:00", "00:00")  # start == end: no quiet hours


def daytime_zone() -> str:
    """A fixed-offset zone where it is about midday now: the default quiet hours (20:00-08:00)
    of wizard-made campaigns never get in the way, whenever the tests run."""
    east = 12 - datetime.now(UTC).hour  # -11 .. +12 hours east of UTC
    return "Etc/GMT" if east == 0 else f"Etc/GMT{-east:+d}"  # Etc/GMT signs are inverted


@pytest.fixture
def zone() -> str:
    return daytime_zone()


@pytest.fixture
def campaign_env(bot_env: dict[str, str], tmp_path: Path, zone: str) -> dict[str, str]:
    """The shipped flows plus a short two-question flow; a time zone where it is daytime."""
    flows_dir = tmp_path / "flows"
    shutil.copytree(SHIPPED_DIR, flows_dir)
    (flows_dir / f"{FLOW}.yaml").write_text(FLOW_YAML, encoding="utf-8")
    bot_env["BACKBONE_FLOWS_DIR"] = str(flows_dir)
    bot_env["BACKBONE_TIMEZONE"] = zone
    return bot_env


@contextmanager
def running(fake_api, env: dict[str, str], tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(fake_api, env, tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        log = process.log()
        if "Traceback" in log:
            print(log)


@pytest.fixture
def cbot(fake_api, campaign_env, tmp_path) -> Iterator[BotProcess]:
    """The bot with the shipped default language (de); everyone in these tests speaks en."""
    with running(fake_api, campaign_env, tmp_path) as process:
        yield process


@pytest.fixture
def en_bot(fake_api, campaign_env, tmp_path) -> Iterator[BotProcess]:
    """The bot with English as its default language."""
    campaign_env["BACKBONE_DEFAULT_LOCALE"] = "en"
    with running(fake_api, campaign_env, tmp_path) as process:
        yield process


# --------------------------------------------------------------------------- people


def admin_ready(fake_api):
    admin = fake_api.user(ADMIN, "Ada", "en")
    onboard(admin, payload="", expect="What would you like to start?")
    return admin


def invite_payload(admin, group: str) -> str:
    message = act(admin, lambda: admin.send(f"/invite {group}"), "?start=")
    match = re.search(r"\?start=(\S+)", message.content)
    assert match, message.content
    return match.group(1)


def join(fake_api, user_id: int, payload: str, name: str | None = None):
    """A new person opens the group's invite link and agrees to the privacy notice."""
    person = fake_api.user(user_id, name or f"P{user_id}", "en")
    act(person, lambda: person.send(f"/start {payload}"), "/privacy")
    act(person, lambda: person.press("✅"), "What would you like to start?")
    return person


def join_many(fake_api, user_ids, payload: str, workers: int = 16) -> list:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda uid: join(fake_api, uid, payload), user_ids))


# --------------------------------------------------------------------------- database


def add_campaign(
    url: str,
    groups: list[str],
    *,
    deadline_in: float = 600,
    remind_after: list[int] | None = None,
    max_reminders: int = 3,
    quiet: tuple[str, str] = NEVER_QUIET,
    progress_chat_id: int | None = None,
) -> int:
    """A confirmed campaign, as the wizard (or the CLI) leaves it: status "scheduled"."""
    now = datetime.now(UTC)

    async def fn(session):
        campaign = Campaign(
            flow_id=FLOW,
            groups=sorted(groups),
            status="scheduled",
            start_at=now,
            deadline=now + timedelta(seconds=deadline_in),
            remind_after=sorted(remind_after or []),
            max_reminders=max_reminders,
            quiet_start=quiet[0],
            quiet_end=quiet[1],
            texts={},
            created_by="P-TEST01",
            progress_chat_id=progress_chat_id,
        )
        session.add(campaign)
        await session.flush()
        return campaign.id

    return _query(url, fn)


def seed_members(fake_api, url: str, group: str, user_ids: list[int]) -> None:
    """Many people who joined `group` and consented earlier, written directly (joining 200
    people through the chat would take most of the test's time); their chats are open."""

    async def go():
        db = Database(url)
        try:
            async with db.transaction() as repo:
                found = await repo.ensure_group(group, "P-TEST01")
                for uid in user_ids:
                    identity = await repo.add_participant(uid, uid, f"P{uid}", None, "en")
                    identity.participant.stage = "ready"
                    await repo.add_consent(identity.participant_id, "2026-1", "en")
                    await repo.add_member(found.id, identity.participant_id)
        finally:
            await db.dispose()

    asyncio.run(go())
    for uid in user_ids:
        fake_api.user(uid, f"P{uid}", "en")
        with fake_api._lock:
            fake_api.chats[uid].started = True  # they wrote to the bot before


def campaign_row(url: str, campaign_id: int) -> Campaign:
    async def fn(session):
        return await session.get(Campaign, campaign_id)

    return _query(url, fn)


def campaigns(url: str) -> list[Campaign]:
    async def fn(session):
        return list((await session.scalars(select(Campaign).order_by(Campaign.id))).all())

    return _query(url, fn)


def deliveries(url: str, campaign_id: int) -> list[tuple[int, Delivery]]:
    """(Telegram user id, delivery) of a campaign, in id order."""

    async def fn(session):
        stmt = (
            select(Identity.telegram_user_id, Delivery)
            .join(Identity, Identity.participant_id == Delivery.participant_id)
            .where(Delivery.campaign_id == campaign_id)
            .order_by(Delivery.id)
        )
        return [(uid, d) for uid, d in (await session.execute(stmt)).all()]

    return _query(url, fn)


def person(url: str, telegram_id: int) -> Participant:
    async def fn(session):
        stmt = (
            select(Participant)
            .join(Identity, Identity.participant_id == Participant.id)
            .where(Identity.telegram_user_id == telegram_id)
        )
        return (await session.scalars(stmt)).one()

    return _query(url, fn)


def runs_of(url: str, telegram_id: int) -> list[Run]:
    async def fn(session):
        stmt = (
            select(Run)
            .join(Identity, Identity.participant_id == Run.participant_id)
            .where(Identity.telegram_user_id == telegram_id)
            .order_by(Run.id)
        )
        return list((await session.scalars(stmt)).all())

    return _query(url, fn)


def wait_until(check: Callable[[], object], timeout: float = 15.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(0.2)


# --------------------------------------------------------------------------- fake server


def campaign_sends(fake_api, campaign_id: int) -> list:
    """Accepted sendMessage calls carrying this campaign's ▶ button (invitations, reminders)."""
    wanted = f"g:{campaign_id}"
    out = []
    for call in fake_api.calls_of("sendMessage"):
        markup = call.params.get("reply_markup") or {}
        data = [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]
        if wanted in data:
            out.append(call)
    return out


def per_chat(calls) -> Counter:
    return Counter(int(c.params["chat_id"]) for c in calls)


def is_reminder(call) -> bool:
    return REMINDER in call.params["text"]


def campaign_messages(user, campaign_id: int) -> list:
    """The campaign's messages in this person's chat."""
    wanted = f"g:{campaign_id}"
    return [m for m in user.messages() if any(wanted in row for row in m.callback_data)]


# --------------------------------------------------------------------------- the wizard


def create_with_wizard(admin, groups: list[str], reminders: str = "No reminders") -> str:
    """/campaign as the admin, through every step; returns the preview text."""
    act(admin, lambda: admin.send("/campaign"), "Which flow")
    act(admin, lambda: admin.press("Quick check"), "Which groups")
    for group in groups:
        act(admin, lambda g=group: admin.press(f"▫️ {g}"), f"✅ {group}")
    act(admin, lambda: admin.press("✔ Done"), "When should the invitations go out?")
    act(admin, lambda: admin.press("Now"), "Deadline")
    act(admin, lambda: admin.press("7 days"), "Remind those")
    preview = act(admin, lambda: admin.press(reminders), "Please check")
    return preview.content


# =========================================================================== tests


def test_invitation_reaches_everyone_in_the_group_once_and_starts_the_flow(
    cbot, fake_api, migrated_url
):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    members = join_many(fake_api, [1001, 1002, 1003], payload)
    other = invite_payload(admin, "schools")
    outsider = join(fake_api, 1009, other)

    preview = create_with_wizard(admin, ["partners"])
    assert "3 people would be invited" in preview and "partners: 3" in preview
    assert campaign_sends(fake_api, 1) == []  # nothing is sent before the admin confirms
    act(admin, lambda: admin.press("✅ Start campaign"), "is on")
    [campaign] = campaigns(migrated_url)
    assert campaign.status in ("scheduled", "running") and campaign.groups == ["partners"]

    for member in members:
        member.wait_for(INVITATION, timeout=15)
    time.sleep(1.5)  # anything doubled would show up by now
    sends = campaign_sends(fake_api, campaign.id)
    assert per_chat(sends) == {1001: 1, 1002: 1, 1003: 1}
    assert campaign_messages(outsider, campaign.id) == []
    [invitation] = campaign_messages(members[0], campaign.id)
    assert "Quick check" in invitation.content and invitation.buttons == [["▶ Start"]]

    admin.wait_for(lambda m: m.content.startswith("📬"), timeout=10)  # progress (see below)
    act(members[0], lambda: members[0].press("▶ Start"), FIRST_QUESTION)
    [run] = runs_of(migrated_url, 1001)
    assert run.campaign_id == campaign.id and run.status == "active"
    assert campaign_row(migrated_url, campaign.id).status == "running"
    assert {d.status for _, d in deliveries(migrated_url, campaign.id)} == {"sent"}


def test_reminders_go_only_to_non_finishers_and_stop_at_the_cap(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    done, half, idle = join_many(fake_api, [1101, 1102, 1103], payload)
    # three reminders planned, but at most two may be sent
    cid = add_campaign(migrated_url, ["partners"], remind_after=[5, 8, 11], max_reminders=2)
    for member in (done, half, idle):
        member.wait_for(INVITATION, timeout=15)
    invited = time.monotonic()

    act(done, lambda: done.press("▶ Start"), FIRST_QUESTION)
    act(done, lambda: done.press("Good"), SECOND_QUESTION)
    act(done, lambda: done.press("Clear"), "Thank you for your feedback")
    act(half, lambda: half.press("▶ Start"), FIRST_QUESTION)
    act(half, lambda: half.press("Not so good"), SECOND_QUESTION)
    assert time.monotonic() - invited < 4.5, "too slow to finish before the first reminder"

    half.wait_for(lambda m: REMINDER in m.content, timeout=10)
    time.sleep(max(0.0, invited + 12.5 - time.monotonic()))  # past the third (capped) one

    sends = campaign_sends(fake_api, cid)
    reminders = per_chat(c for c in sends if is_reminder(c))
    assert reminders == {1102: 2, 1103: 2}  # nobody gets the third; the finisher gets none
    assert per_chat(sends) == {1101: 1, 1102: 3, 1103: 3}
    rows = deliveries(migrated_url, cid)
    assert sorted((uid, d.kind, d.seq) for uid, d in rows if d.kind == "reminder") == [
        (uid, "reminder", seq) for uid in (1101, 1102, 1103) for seq in (1, 2)
    ]
    skipped = [(uid, d.error) for uid, d in rows if d.status == "skipped"]
    assert skipped == [(1101, "completed"), (1101, "completed")]
    # reminders are due a fixed time after each person's invitation went out
    sent_at = {uid: d.sent_at for uid, d in rows if d.kind == "invitation"}
    for uid, d in rows:
        if d.kind == "reminder":
            assert d.due_at - sent_at[uid] == timedelta(seconds=[5, 8][d.seq - 1]), (uid, d.seq)

    # the one who started gets the "continue" variant; the idle one the plain reminder
    half_reminders = [m for m in campaign_messages(half, cid) if REMINDER in m.content]
    assert all("you started" in m.content and m.buttons == [["▶ Continue"]] for m in half_reminders)
    idle_reminders = [m for m in campaign_messages(idle, cid) if REMINDER in m.content]
    assert all("still open" in m.content and m.buttons == [["▶ Start"]] for m in idle_reminders)

    # ▶ Continue lands on the open question, in the same run
    act(half, lambda: half.press("▶ Continue"), SECOND_QUESTION)
    act(half, lambda: half.press("Clear"), "Thank you for your feedback")
    [run] = runs_of(migrated_url, 1102)
    assert run.status == "complete" and run.campaign_id == cid


def test_quiet_hours_postpone_everything_to_the_morning(cbot, fake_api, migrated_url, zone):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    join_many(fake_api, [1201, 1202], payload)
    local = datetime.now(ZoneInfo(zone))
    quiet = (
        (local - timedelta(hours=1)).strftime("%H:%M"),
        (local + timedelta(hours=1)).strftime("%H:%M"),
    )
    cid = add_campaign(migrated_url, ["partners"], remind_after=[2], quiet=quiet)

    rows = wait_until(lambda: deliveries(migrated_url, cid), what="invitations to be planned")
    time.sleep(4)
    assert campaign_sends(fake_api, cid) == []
    rows = deliveries(migrated_url, cid)
    assert len(rows) == 2 and {d.status for _, d in rows} == {"pending"}
    end_hour, end_minute = map(int, quiet[1].split(":"))
    morning = local.replace(hour=end_hour, minute=end_minute, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    assert {d.due_at for _, d in rows} == {morning.astimezone(UTC)}
    assert campaign_row(migrated_url, cid).status == "running"


def test_a_passed_deadline_stops_reminders(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    [member] = join_many(fake_api, [1301], payload)
    cid = add_campaign(migrated_url, ["partners"], deadline_in=4, remind_after=[6])
    member.wait_for(INVITATION, timeout=10)

    wait_until(
        lambda: campaign_row(migrated_url, cid).status == "finished",
        timeout=15,
        what="the campaign to finish at its deadline",
    )
    time.sleep(4)  # past the reminder's due time
    assert per_chat(campaign_sends(fake_api, cid)) == {1301: 1}  # the invitation only
    [reminder] = [d for _, d in deliveries(migrated_url, cid) if d.kind == "reminder"]
    assert (reminder.status, reminder.error) == ("skipped", "deadline passed")
    # the invitation's button no longer starts anything
    qid = member.press("▶ Start")
    answer = member.wait_callback_answer(qid)
    assert answer["show_alert"] and "expired" in answer["text"]
    assert runs_of(migrated_url, 1301) == []


def test_sigkill_while_inviting_200_people_never_sends_twice(
    fake_api, campaign_env, migrated_url, tmp_path
):
    people = list(range(20000, 20200))
    seed_members(fake_api, migrated_url, "everyone", people)
    with running(fake_api, campaign_env, tmp_path) as bot:
        cid = add_campaign(migrated_url, ["everyone"])
        # Kill in the middle of a claimed batch of 10 (the sender claims 10 rows, marks them
        # `sending`, sends them paced, then records the results): some of the batch arrived.
        deadline = time.monotonic() + 20
        while not ((n := len(campaign_sends(fake_api, cid))) >= 60 and 1 <= n % 10 <= 7):
            assert time.monotonic() < deadline, "the invitations did not go out"
            time.sleep(0.005)
        bot.kill()
        before_restart = per_chat(campaign_sends(fake_api, cid))
        assert 60 <= sum(before_restart.values()) < 200, "kill came too late to test anything"
        bot.start()

        def settled():
            rows = deliveries(migrated_url, cid)
            return len(rows) == 200 and all(d.status in ("sent", "uncertain") for _, d in rows)

        wait_until(settled, timeout=30, what="every invitation to be sent or uncertain")
        time.sleep(1)  # anything sent twice would show up by now

    rows = deliveries(migrated_url, cid)
    assert sorted(uid for uid, _ in rows) == people  # one invitation row per member
    received = per_chat(campaign_sends(fake_api, cid))
    uncertain = {uid for uid, d in rows if d.status == "uncertain"}
    for uid, delivery in rows:
        if delivery.status == "uncertain":
            # in flight at the kill: maybe arrived, maybe not; never resent
            assert received[uid] <= 1, uid
            assert received[uid] == before_restart[uid], uid
            assert "crash" in delivery.error
        else:
            assert delivery.status == "sent" and received[uid] == 1, (uid, delivery.status)
    assert max(received.values()) == 1
    assert 1 <= len(uncertain) <= 10  # the claimed batch that was in flight, nothing else
    assert "marked uncertain" in bot.log()


def test_429_waits_for_retry_after_then_sends(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    [member] = join_many(fake_api, [1401], payload)
    fake_api.fail_next("sendMessage", 429, retry_after=2)
    cid = add_campaign(migrated_url, ["partners"])
    member.wait_for(INVITATION, timeout=15)
    [fault] = [f for f in fake_api.faults if f.method == "sendMessage"]
    assert fault.error_code == 429 and int(fault.params["chat_id"]) == 1401
    [sent] = campaign_sends(fake_api, cid)
    assert sent.time - fault.time >= 1.9  # not before Telegram said it may
    time.sleep(1)
    assert per_chat(campaign_sends(fake_api, cid)) == {1401: 1}
    [(_, delivery)] = deliveries(migrated_url, cid)
    assert delivery.status == "sent" and delivery.attempts == 2


def test_5xx_is_retried_until_it_goes_through(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    [member] = join_many(fake_api, [1411], payload)
    fake_api.fail_next("sendMessage", 502, times=2)
    cid = add_campaign(migrated_url, ["partners"])
    member.wait_for(INVITATION, timeout=20)
    faults = [f for f in fake_api.faults if f.method == "sendMessage"]
    assert [(f.error_code, int(f.params["chat_id"])) for f in faults] == [(502, 1411)] * 2
    time.sleep(1)
    assert per_chat(campaign_sends(fake_api, cid)) == {1411: 1}
    [(_, delivery)] = deliveries(migrated_url, cid)
    assert delivery.status == "sent" and delivery.attempts == 3


def test_403_marks_the_person_unreachable_and_nothing_more_is_sent(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    reachable, blocked = join_many(fake_api, [1421, 1422], payload)
    fake_api.block(1422, notify=False)  # Telegram only says so when the bot sends something
    first = add_campaign(migrated_url, ["partners"], remind_after=[2])
    reachable.wait_for(INVITATION, timeout=15)
    reachable.wait_for(lambda m: REMINDER in m.content, timeout=10)
    assert person(migrated_url, 1422).unreachable is True
    attempts = [f for f in fake_api.faults if int(f.params.get("chat_id", 0)) == 1422]
    assert [f.error_code for f in attempts] == [403]  # tried once, never again
    rows = {(uid, d.kind): d for uid, d in deliveries(migrated_url, first)}
    assert rows[(1422, "invitation")].status == "failed"
    assert (1422, "reminder") not in rows

    # a later campaign skips them without calling Telegram
    second = add_campaign(migrated_url, ["partners"])
    wait_until(lambda: len(campaign_sends(fake_api, second)) == 1, what="the second invitation")
    rows = {uid: d for uid, d in deliveries(migrated_url, second)}
    assert (rows[1422].status, rows[1422].error) == ("skipped", "unreachable")
    assert [f for f in fake_api.faults if int(f.params.get("chat_id", 0)) == 1422] == attempts
    assert per_chat(campaign_sends(fake_api, first) + campaign_sends(fake_api, second)) == {1421: 3}
    assert blocked.messages()[-1].content.startswith("Thank you! You can start now.")


def test_stop_opts_out_of_reminders_and_start_undoes_it(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    ann, ben, cem = join_many(fake_api, [1501, 1502, 1503], payload)
    act(cem, lambda: cem.send("/stop"), "no more invitations")  # before the campaign
    cid = add_campaign(migrated_url, ["partners"], remind_after=[3, 6])
    ann.wait_for(INVITATION, timeout=15)
    ben.wait_for(INVITATION, timeout=15)
    act(ann, lambda: ann.send("/stop"), "no more invitations")
    assert person(migrated_url, 1501).opted_out is True

    def first_reminder_done():
        rows = {(uid, d.kind, d.seq): d for uid, d in deliveries(migrated_url, cid)}
        row = rows.get((1501, "reminder", 1))
        return row is not None and row.status != "pending" and row

    skipped = wait_until(first_reminder_done, timeout=10, what="Ann's first reminder")
    assert (skipped.status, skipped.error) == ("skipped", "opted out")
    act(ann, lambda: ann.send("/start"), "switched on again")
    assert person(migrated_url, 1501).opted_out is False
    ann.wait_for(lambda m: REMINDER in m.content, timeout=10)  # the second one comes again
    wait_until(lambda: len(campaign_sends(fake_api, cid)) >= 5, what="Ben's second reminder")
    time.sleep(0.5)

    sends = campaign_sends(fake_api, cid)
    assert per_chat(sends) == {1501: 2, 1502: 3}  # Cem: nothing at all
    assert per_chat(c for c in sends if is_reminder(c)) == {1501: 1, 1502: 2}
    rows = {(uid, d.kind, d.seq): d for uid, d in deliveries(migrated_url, cid)}
    assert (rows[(1503, "invitation", 0)].status, rows[(1503, "invitation", 0)].error) == (
        "skipped",
        "opted out",
    )
    assert (1503, "reminder", 1) not in rows
    assert rows[(1501, "reminder", 2)].status == "sent"


def test_participants_cannot_create_or_cancel_campaigns(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    [eve] = join_many(fake_api, [1601], payload)
    act(eve, lambda: eve.send("/campaign"), "only for the backbone team")
    qid = eve.press_data(f"w:new:{FLOW}")
    assert eve.wait_callback_answer(qid)["show_alert"]
    assert campaigns(migrated_url) == []

    create_with_wizard(admin, ["partners"])
    [draft] = campaigns(migrated_url)
    for forged in (f"w:{draft.id}:no", f"w:{draft.id}:ok", f"w:{draft.id}:g:1"):
        qid = eve.press_data(forged)
        assert eve.wait_callback_answer(qid)["show_alert"], forged
    qid = eve.press_data(f"g:{draft.id}")  # not invited (and nothing was sent)
    assert eve.wait_callback_answer(qid)["show_alert"]
    [draft] = campaigns(migrated_url)
    assert draft.status == "draft" and draft.groups == ["partners"]
    assert campaign_sends(fake_api, draft.id) == []
    assert runs_of(migrated_url, 1601) == []

    act(admin, lambda: admin.press("✅ Start campaign"), "is on")
    eve.wait_for(INVITATION, timeout=15)
    qid = eve.press_data(f"w:{draft.id}:no")  # a running campaign cannot be cancelled either
    assert eve.wait_callback_answer(qid)["show_alert"]
    assert campaigns(migrated_url)[0].status == "running"


def progress_messages(admin, campaign_id: int) -> list:
    return [m for m in admin.messages() if m.content.startswith(f"📬 Campaign {campaign_id}:")]


def test_admin_sees_progress_appear_and_update(en_bot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    ann, ben, cem = join_many(fake_api, [1701, 1702, 1703], payload)
    cid = add_campaign(migrated_url, ["partners"], remind_after=[4], progress_chat_id=ADMIN)
    first = admin.wait_for(lambda m: "Invited: 3" in m.content, timeout=15)
    assert first.content.startswith(f"📬 Campaign {cid}: “Quick check” (running)")
    assert "Completed: 0" in first.content and "Reminders sent: 0" in first.content

    act(ann, lambda: ann.press("▶ Start"), FIRST_QUESTION)
    act(ann, lambda: ann.press("Good"), SECOND_QUESTION)
    act(ann, lambda: ann.press("Clear"), "Thank you for your feedback")
    act(ben, lambda: ben.press("▶ Start"), FIRST_QUESTION)
    # after the reminders went out, the same message shows the new figures
    updated = admin.wait_for(lambda m: "Reminders sent: 2" in m.content, timeout=15)
    assert updated.message_id == first.message_id and updated.edited
    for figure in ("Invited: 3", "Started: 2", "Completed: 1 (33%)", "Pending: 0"):
        assert figure in updated.content, (figure, updated.content)
    assert len(progress_messages(admin, cid)) == 1  # one message, edited in place
    # /campaigns shows the current figures at any time
    listing = act(admin, lambda: admin.send("/campaigns"), f"📬 Campaign {cid}")
    assert "Completed: 1 (33%)" in listing.content and "Reminders sent: 2" in listing.content


def test_progress_message_counts_completions(en_bot, fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    ann, ben = join_many(fake_api, [1711, 1712], payload)
    create_with_wizard(admin, ["partners"])
    act(admin, lambda: admin.press("✅ Start campaign"), "is on")
    [campaign] = campaigns(migrated_url)
    admin.wait_for(lambda m: m.content.startswith("📬") and "Invited: 2" in m.content, timeout=15)
    act(ann, lambda: ann.press("▶ Start"), FIRST_QUESTION)
    act(ann, lambda: ann.press("Good"), SECOND_QUESTION)
    act(ann, lambda: ann.press("Clear"), "Thank you for your feedback")
    admin.wait_for(lambda m: "Completed: 1 (50%)" in m.content, timeout=7)
    assert len(progress_messages(admin, campaign.id)) == 1


def test_progress_message_is_in_the_admins_language(cbot, fake_api, migrated_url):
    admin = admin_ready(fake_api)  # speaks English; the bot's default language is German
    payload = invite_payload(admin, "partners")
    join_many(fake_api, [1721], payload)
    create_with_wizard(admin, ["partners"])
    act(admin, lambda: admin.press("✅ Start campaign"), "Campaign 1 is on")
    progress = admin.wait_for(lambda m: m.content.startswith("📬"), timeout=15)
    assert progress.content.startswith("📬 Campaign 1:"), progress.content
