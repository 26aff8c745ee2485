"""Roles, consent, data rights and hostile input, through the real bot process."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.models import AuditEntry, Consent, Identity, Participant
from tests.e2e.conftest import BotProcess, backbone_command
from tests.e2e.helpers import _query, act, answer_map, onboard, runs

pytestmark = pytest.mark.e2e

ADMIN = 9000  # in BACKBONE_ADMIN_IDS (see conftest)


def link_payload(message) -> str:
    match = re.search(r"\?start=(\S+)", message.content)
    assert match, message.content
    return match.group(1)


def rows(url: str, model) -> list:
    async def fn(session):
        return list((await session.scalars(select(model))).all())

    return _query(url, fn)


def participant(url: str, telegram_id: int) -> Participant | None:
    async def fn(session):
        stmt = (
            select(Participant)
            .join(Identity, Identity.participant_id == Participant.id)
            .where(Identity.telegram_user_id == telegram_id)
        )
        return (await session.scalars(stmt)).one_or_none()

    return _query(url, fn)


def audit_cli(env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [*backbone_command(), "audit"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_roles_are_granted_by_one_time_link_and_revoked(bot, fake_api, migrated_url, tmp_path):
    admin = fake_api.user(ADMIN, "Ada", "en")
    onboard(admin, payload="", expect="What would you like to start?")
    grant = act(admin, lambda: admin.send("/grant facilitator"), "?start=")
    payload = link_payload(grant)

    fritz = fake_api.user(401, "Fritz", "de")
    act(fritz, lambda: fritz.send(f"/start {payload}"), "facilitator")
    assert participant(migrated_url, 401).role == "facilitator"

    # the link works once
    mallory = fake_api.user(402, "Mallory", "en")
    act(mallory, lambda: mallory.send(f"/start {payload}"), "not valid")
    assert participant(migrated_url, 402).role == "participant"

    # participants cannot use staff commands, not even with forged payloads
    act(mallory, lambda: mallory.send("/grant admin"), "only for the backbone team")
    act(mallory, lambda: mallory.send("/start Gforged-token"), "not valid")
    act(
        mallory, lambda: mallory.send(f"/revoke {participant(migrated_url, 401).pseudonym}"), "only"
    )
    assert participant(migrated_url, 401).role == "facilitator"

    # a facilitator is staff but cannot grant roles
    act(fritz, lambda: fritz.send("/grant admin"), "nur für das Backbone-Team")
    pseudonym = participant(migrated_url, 401).pseudonym
    act(admin, lambda: admin.send(f"/revoke {pseudonym}"), "is now a participant")
    assert participant(migrated_url, 401).role == "participant"

    log = audit_cli(bot.env, tmp_path)
    assert "role_link_created" in log and "role_granted" in log and "role_revoked" in log
    assert "401" not in log and "Fritz" not in log


def test_under_16_needs_parental_consent_on_file(bot, fake_api, migrated_url):
    kid = fake_api.user(411, "Emil", "de")
    act(kid, lambda: kid.send("/start reporter-interview"), "/privacy")
    act(kid, lambda: kid.press("unter 16"), "Eltern")
    act(kid, lambda: kid.send("Hallo?"), "Eltern")  # still kindly stopped
    assert runs(migrated_url) == []

    admin = fake_api.user(ADMIN, "Ada", "en")
    onboard(admin, payload="", expect="What would you like to start?")
    invite = act(
        admin, lambda: admin.send("/invite school-a-9b --parental-consent-on-file"), "?start="
    )
    act(kid, lambda: kid.send(f"/start {link_payload(invite)}"), "Wie würdest du dich")

    consents = {c.participant_id: c for c in rows(migrated_url, Consent)}
    kid_row = participant(migrated_url, 411)
    consent = consents[kid_row.id]
    assert consent.given_by == "parent" and consent.age_band == "under16"
    assert consent.confirmed_by == participant(migrated_url, ADMIN).pseudonym
    assert kid_row.age_band == "under16"
    adult = consents[participant(migrated_url, ADMIN).id]
    assert adult.given_by == "self" and adult.age_band == "16plus" and adult.notice_version


def test_a_new_privacy_notice_is_agreed_to_again_before_the_next_flow(
    fake_api, bot_env, migrated_url, tmp_path
):
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        lea = fake_api.user(421, "Lea", "de")
        onboard(lea, payload="school-survey", expect="In welcher Klasse")
        act(lea, lambda: lea.send("/cancel"), "/start")
        bot.stop()
        bot.env["BACKBONE_PRIVACY_NOTICE_VERSION"] = "2027-1"
        bot.start()
        act(lea, lambda: lea.send("/start reporter-interview"), "/privacy")
        act(lea, lambda: lea.press("✅"), "Wie würdest du dich")
    finally:
        bot.stop()
    versions = sorted(c.notice_version for c in rows(migrated_url, Consent))
    assert versions == ["2026-1", "2027-1"]


def test_mydata_and_delete(bot, fake_api, migrated_url):
    ida = fake_api.user(431, "Ida", "de", username="ida_w")
    onboard(ida, expect="Wie würdest du dich")
    act(ida, lambda: ida.send("Ida hier"), "Wie gut weißt du")
    act(ida, lambda: ida.send("/mydata"), lambda m: m.kind == "document")
    data = json.loads(ida.last().document_bytes.decode("utf-8"))
    assert data["telegram"]["username"] == "ida_w"
    answers = [a for run in data["runs"] for a in run["answers"]]
    assert answers[0]["value"] == "Ida hier"

    other = fake_api.user(432, "Otto", "de")
    onboard(other, expect="Wie würdest du dich")
    act(other, lambda: other.send("Otto"), "Wie gut weißt du")

    act(ida, lambda: ida.send("/delete"), "🗑")
    act(ida, lambda: ida.press("🗑"), "gelöscht")
    assert participant(migrated_url, 431) is None
    assert answer_map(migrated_url) == {"self_image": "Otto"}  # only the other person's
    entries = rows(migrated_url, AuditEntry)
    deletion = next(e for e in entries if e.action == "participant_deleted")
    assert "431" not in json.dumps(deletion.details) and "Ida" not in json.dumps(deletion.details)

    # writing again starts from the beginning, nothing of the old data comes back
    act(ida, lambda: ida.send("hallo"), "/privacy")
    assert participant(migrated_url, 431).stage == "consent"


def test_stop_and_start_again(bot, fake_api, migrated_url):
    tim = fake_api.user(441, "Tim", "de")
    onboard(tim, payload="", expect="Was möchtest du")
    act(tim, lambda: tim.send("/stop"), "/start")
    assert participant(migrated_url, 441).opted_out is True
    act(tim, lambda: tim.send("/start"), "wieder")
    assert participant(migrated_url, 441).opted_out is False


def test_hostile_input_is_refused_without_storing_anything(bot, fake_api, migrated_url):
    eve = fake_api.user(451, "Eve", "en")
    onboard(eve, expect="describe yourself")
    # forged, malformed and oversized button data
    eve.press_data("r:999999:0:opt:1", eve.last().message_id)
    eve.press_data("x" * 64, eve.last().message_id)
    eve.press_data("c:2026-1:16", eve.last().message_id)
    eve.press_data("r:1:1:opt:' OR 1=1 --", eve.last().message_id)
    act(eve, lambda: eve.send("/nonsense"), "/help")
    mid = eve.last_sent_message_id()
    act(eve, lambda: eve.send_document("virus.exe", b"MZ"), "describe yourself")
    act(eve, lambda: eve.send_location(), "describe yourself")
    act(eve, lambda: eve.edit(mid, "sneaky edit"), "new message")
    act(eve, lambda: eve.send("x" * 4000), "1,000")
    assert answer_map(migrated_url) == {}
    act(eve, lambda: eve.send("fine"), "after school")
    assert answer_map(migrated_url) == {"self_image": "fine"}


def add_bot_to_group(server, group, adder) -> None:
    """What Telegram sends when `adder` adds the bot to `group`."""
    bot = server._bot_user()
    with server._lock:
        server._enqueue(
            "my_chat_member",
            {
                "chat": group.chat.to_api(),
                "from": adder.record.to_api(),
                "date": int(time.time()),
                "old_chat_member": {"status": "left", "user": bot},
                "new_chat_member": {"status": "member", "user": bot},
            },
        )


def test_groups_added_by_strangers_are_left_staff_commands_refused(bot, fake_api, migrated_url):
    stranger = fake_api.user(461, "Sam", "en")
    group = fake_api.group(-100461, "Random group")
    group.add(stranger)
    add_bot_to_group(fake_api, group, stranger)
    deadline = time.monotonic() + 10
    while group.chat.bot_member and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group.chat.bot_member

    admin = fake_api.user(ADMIN, "Ada", "en")
    staff_group = fake_api.group(-100462, "Steering circle")
    staff_group.add(admin)
    add_bot_to_group(fake_api, staff_group, admin)
    staff_group.wait_for("Staff added me")
    member = fake_api.user(463, "Max", "de")
    staff_group.add(member)
    mark = staff_group.last()
    staff_group.send(member, "/grant admin")
    staff_group.wait_for("nur für das Backbone-Team", since=mark)
    assert staff_group.chat.bot_member
    # group members are never stored: they did not consent to anything
    assert participant(migrated_url, 463) is None


def test_flooding_gets_one_notice_then_silence(fake_api, bot_env, migrated_url, tmp_path):
    bot_env["BACKBONE_FLOOD_LIMIT"] = "20"
    bot = BotProcess(fake_api, bot_env, tmp_path)
    bot.start()
    try:
        spam = fake_api.user(471, "Spam", "en")
        calm = fake_api.user(472, "Calm", "en")
        onboard(spam, expect="describe yourself")
        for i in range(40):
            spam.send(f"spam {i}")
        spam.wait_for("a lot of messages")
        onboard(calm, expect="describe yourself")  # someone else is not affected
        time.sleep(2)
    finally:
        bot.stop()
    notices = [m for m in spam.messages() if "a lot of messages" in m.content]
    assert len(notices) == 1
    stored = answer_map(migrated_url)
    assert len(stored) <= 1  # at most the first text became an answer; nothing after
    with_count = _query(
        migrated_url,
        lambda s: s.scalar(select(func.count()).select_from(Participant)),
    )
    assert with_count == 2
