"""Child safety and authority: the age gate holds, a revoked admin's links carry no power,
and commands addressed to other bots are left alone — through the real bot process."""

from __future__ import annotations

import pytest

from storage.models import AuditEntry, Consent, GroupMember, Poll
from tests.e2e.helpers import act, onboard, runs
from tests.e2e.test_trust import add_bot_to_group, link_payload, participant, rows

pytestmark = pytest.mark.e2e

ADMIN = 9000  # in BACKBONE_ADMIN_IDS (see conftest)
# Parts of the German texts the people below see.
MINOR = "brauchen wir zuerst die Einwilligung deiner Eltern"
PARENTS_ON_FILE = "Deine Schule hat die Einwilligung deiner Eltern schon"
NOT_ADMIN_ANY_MORE = "kein Admin mehr"
FIRST_QUESTION = "Wie würdest du dich"


def audit(url: str, action: str) -> list[AuditEntry]:
    return [e for e in rows(url, AuditEntry) if e.action == action]


def values(*items) -> list:
    """Every scalar in nested dicts and lists (what an audit entry could leak)."""
    out: list = []
    for item in items:
        if isinstance(item, dict):
            out += values(*item.keys(), *item.values())
        elif isinstance(item, list | tuple):
            out += values(*item)
        else:
            out.append(item)
    return out


def consents_of(url: str, telegram_id: int) -> list[Consent]:
    person = participant(url, telegram_id)
    return [c for c in rows(url, Consent) if c.participant_id == person.id]


def test_saying_under_16_cannot_be_undone_with_the_other_button(bot, fake_api, migrated_url):
    kid = fake_api.user(511, "Emil", "de")
    notice = act(kid, lambda: kid.send("/start reporter-interview"), "/privacy")
    act(kid, lambda: kid.press("unter 16", notice.message_id), MINOR)
    # the 16+ button of the very same notice: kindly stopped again, nothing recorded
    act(kid, lambda: kid.press("✅", notice.message_id), MINOR)
    act(kid, lambda: kid.send("/start"), MINOR)

    kid_row = participant(migrated_url, 511)
    assert kid_row.age_band == "under16" and kid_row.stage == "minor"
    assert consents_of(migrated_url, 511) == []
    assert runs(migrated_url) == []
    assert not any(FIRST_QUESTION in m.content for m in kid.messages())
    (attempt,) = audit(migrated_url, "age_gate_refused")
    assert attempt.actor == kid_row.pseudonym
    assert not {str(v) for v in values(attempt.details)} & {"511", "Emil"}
    assert all(answer["query_id"] for answer in kid.callback_answers())  # both taps answered

    # a staff correction is the way out: then the person agrees themselves
    admin = fake_api.user(ADMIN, "Ada", "en")
    onboard(admin, payload="", expect="What would you like to start?")
    act(admin, lambda: admin.send(f"/agecheck {kid_row.pseudonym} 16plus"), "16 or older")
    notice = act(kid, lambda: kid.send("/start reporter-interview"), "/privacy")
    act(kid, lambda: kid.press("✅", notice.message_id), FIRST_QUESTION)
    assert [c.age_band for c in consents_of(migrated_url, 511)] == ["16plus"]
    (correction,) = audit(migrated_url, "age_band_corrected")
    assert correction.details["target"] == kid_row.pseudonym
    assert correction.details["previous"] == "under16"


def test_a_revoked_admins_links_carry_no_power(bot, fake_api, migrated_url):
    admin = fake_api.user(ADMIN, "Ada", "en")
    onboard(admin, payload="", expect="What would you like to start?")
    bob = fake_api.user(521, "Bob", "en")
    onboard(bob, payload="", expect="What would you like to start?")
    grant = act(admin, lambda: admin.send("/grant admin"), "?start=")
    act(bob, lambda: bob.send(f"/start {link_payload(grant)}"), "You are now admin")

    # while Bob is an admin he makes links...
    own_admin = link_payload(act(bob, lambda: bob.send("/grant admin"), "?start="))
    facilitator = link_payload(act(bob, lambda: bob.send("/grant facilitator"), "?start="))
    parental = link_payload(
        act(bob, lambda: bob.send("/invite school-b-8a --parental-consent-on-file"), "?start=")
    )
    # ...and a pupil joins through his parental-consent link but has not answered the notice
    early = fake_api.user(524, "Mia", "de")
    act(early, lambda: early.send(f"/start {parental}"), "/privacy")

    bob_code = participant(migrated_url, 521).pseudonym
    act(
        admin,
        lambda: admin.send(f"/revoke {bob_code}"),
        "2 open role links they made no longer work",
    )
    assert participant(migrated_url, 521).role == "participant"

    # his own earlier /grant admin link does not re-promote him
    act(bob, lambda: bob.send(f"/start {own_admin}"), "no longer an admin")
    assert participant(migrated_url, 521).role == "participant"
    # his /grant facilitator link does not make anyone a facilitator
    carl = fake_api.user(522, "Carl", "de")
    act(carl, lambda: carl.send(f"/start {facilitator}"), NOT_ADMIN_ANY_MORE)
    assert participant(migrated_url, 522).role == "participant"
    # his parental-consent link admits no under-16, neither someone new...
    kid = fake_api.user(523, "Emil", "de")
    act(kid, lambda: kid.send(f"/start {parental}"), NOT_ADMIN_ANY_MORE)
    kid.wait_for("/privacy")
    act(kid, lambda: kid.press("unter 16"), MINOR)
    # ...nor the pupil who joined through it before the revoke
    act(early, lambda: early.press("unter 16"), MINOR)
    for person in (kid, early):
        assert not any(PARENTS_ON_FILE in m.content for m in person.messages())
    assert consents_of(migrated_url, 523) == [] and consents_of(migrated_url, 524) == []
    assert runs(migrated_url) == []
    members = {m.participant_id for m in rows(migrated_url, GroupMember)}
    assert participant(migrated_url, 523).id not in members

    # promoted again with a fresh link, his voided links stay dead
    regrant = act(admin, lambda: admin.send("/grant admin"), "?start=")
    act(bob, lambda: bob.send(f"/start {link_payload(regrant)}"), "You are now admin")
    dora = fake_api.user(525, "Dora", "en")
    act(dora, lambda: dora.send(f"/start {facilitator}"), "not valid (any more)")
    assert participant(migrated_url, 525).role == "participant"

    (revoked,) = audit(migrated_url, "role_revoked")
    assert revoked.details == {"target": bob_code, "previous": "admin", "links_voided": 2}
    refused = audit(migrated_url, "link_refused")
    assert len(refused) == 3 and {e.details["created_by"] for e in refused} == {bob_code}
    logged = {str(v) for e in rows(migrated_url, AuditEntry) for v in values(e.actor, e.details)}
    assert not logged & {"521", "522", "523", "524", "525", "9000", "Bob", "Carl", "Emil", "Mia"}


def test_commands_addressed_to_another_bot_are_ignored_in_groups(bot, fake_api, migrated_url):
    admin = fake_api.user(ADMIN, "Ada", "de")
    # privacy mode off: the bot sees every message, also commands meant for other bots
    group = fake_api.group(-100531, "Steuerkreis", privacy=False)
    group.add(admin)
    add_bot_to_group(fake_api, group, admin)
    group.wait_for("hinzugefügt")
    group.send(admin, "/poll Termin? | Montag | Dienstag")
    mark = group.wait_for(lambda m: m.kind == "poll")

    group.send(admin, "/close@some_other_bot")
    # handled after it, in order: the only answer since the poll
    group.send(admin, "/whoami@backbone_test_bot")
    group.wait_for("privaten Chat", since=mark)
    since = [m for m in group.messages() if m.message_id > mark.message_id]
    assert [m.content for m in since] == ["Bitte nutz Team-Befehle in einem privaten Chat mit mir."]
    assert [p.status for p in rows(migrated_url, Poll)] == ["open"]

    # addressed to this bot (any case): carried out
    group.send(admin, "/close@Backbone_Test_Bot")
    group.wait_for("Termin?", since=mark)
    assert [p.status for p in rows(migrated_url, Poll)] == ["closed"]


def test_commands_addressed_to_another_bot_are_ignored_in_private(bot, fake_api, migrated_url):
    sam = fake_api.user(541, "Sam", "en")
    sam.send("/start@some_other_bot reporter-interview")
    sam.send("/help@some_other_bot")
    act(sam, lambda: sam.send("/help@backbone_test_bot"), "/privacy")
    assert len(sam.messages()) == 1  # only the answer to the command meant for this bot
    assert participant(migrated_url, 541).pending_flow is None  # the deep link was not taken
