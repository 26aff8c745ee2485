"""Operations through the real bot process: /whoami tells staff their Telegram user id (and
nobody else), and the /campaign wizard offers no start for an audience nobody can reach."""

from __future__ import annotations

import pytest

from storage.models import Campaign
from tests.e2e import test_campaigns
from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import act, onboard
from tests.e2e.test_campaigns import (
    admin_ready,
    campaigns,
    create_with_wizard,
    invite_payload,
    join,
)
from tests.e2e.test_trust import rows

pytestmark = pytest.mark.e2e
# The campaign tests' bot: shipped flows plus a short one, a time zone where it is daytime.
cbot, campaign_env, zone = test_campaigns.cbot, test_campaigns.campaign_env, test_campaigns.zone

ADMIN = 9000  # in BACKBONE_ADMIN_IDS (see conftest)
USER_ID = "Your Telegram user id is"


def test_whoami_tells_staff_their_telegram_id_and_participants_only_their_pseudonym(
    bot, fake_api, migrated_url
):
    admin = fake_api.user(ADMIN, "Ada", "en")
    onboard(admin, payload="", expect="What would you like to start?")
    reply = act(admin, lambda: admin.send("/whoami"), "Your pseudonym is")
    assert f"{USER_ID} 9000" in reply.content and "BACKBONE_ADMIN_IDS" in reply.content
    assert "role: admin" in reply.content

    person = fake_api.user(4242, "Pia", "en")
    onboard(person, payload="", expect="What would you like to start?")
    reply = act(person, lambda: person.send("/whoami"), "Your pseudonym is")
    assert "4242" not in reply.content and USER_ID not in reply.content
    assert "role: participant" in reply.content


def test_a_bot_without_admins_tells_whoever_sets_it_up_their_id(fake_api, bot_env, tmp_path):
    bot_env["BACKBONE_ADMIN_IDS"] = ""
    process = BotProcess(fake_api, bot_env, tmp_path)
    process.start()
    try:
        first = fake_api.user(777001, "Sam", "en")
        onboard(first, payload="", expect="What would you like to start?")
        reply = act(first, lambda: first.send("/whoami"), "Your pseudonym is")
        assert f"{USER_ID} 777001" in reply.content
    finally:
        process.stop()


@pytest.mark.usefixtures("cbot")
def test_the_wizard_offers_no_start_when_nobody_can_be_reached(fake_api, migrated_url):
    admin = admin_ready(fake_api)
    invite_payload(admin, "nobody-yet")  # the group exists, nobody joined
    preview = create_with_wizard(admin, ["nobody-yet"])
    assert "Nobody in these groups can be reached now" in preview
    message = admin.last()
    labels = [label for row in message.buttons for label in row]
    assert not any("Start campaign" in label for label in labels)
    assert any("Discard" in label for label in labels)

    # A forged start tap on the draft starts nothing either.
    (draft,) = rows(migrated_url, Campaign)
    assert draft.status == "draft"
    answer = admin.wait_callback_answer(admin.press_data(f"w:{draft.id}:ok"))
    assert answer["show_alert"] and "Nobody in these groups" in answer["text"]
    (draft,) = rows(migrated_url, Campaign)
    assert draft.status == "draft"


@pytest.mark.usefixtures("cbot")
def test_the_wizard_warns_when_some_cannot_be_reached(fake_api, migrated_url):
    admin = admin_ready(fake_api)
    payload = invite_payload(admin, "partners")
    stays = join(fake_api, 1101, payload)
    leaves = join(fake_api, 1102, payload)
    act(leaves, lambda: leaves.send("/stop"), "")
    assert stays is not None
    preview = create_with_wizard(admin, ["partners"])
    assert "1 person cannot be reached now and will not be invited" in preview
    act(admin, lambda: admin.press("✅ Start campaign"), "is on")
    (campaign,) = campaigns(migrated_url)
    assert campaign.status in ("scheduled", "running")
