"""Webhook mode: the real `backbone run` process, the fake Bot API posting updates to it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import Participant
from tests.e2e.conftest import BotProcess
from tests.e2e.helpers import _query, act, answer_map, answers, onboard
from tests.e2e.test_web import free_port

pytestmark = pytest.mark.e2e

SECRET = "test-secret_0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_env(bot_env: dict[str, str], secret: str | None = SECRET) -> tuple[dict, str]:
    """The bot's environment for webhook mode on a free port, and the webhook URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook-x1"
    env = {**bot_env, "BACKBONE_WEB_PORT": str(port), "BACKBONE_WEBHOOK_URL": url}
    if secret is not None:
        env["BACKBONE_WEBHOOK_SECRET"] = secret
    return env, url


@pytest.fixture
def hooked(fake_api, bot_env, tmp_path) -> Iterator[tuple[BotProcess, str]]:
    """A bot in webhook mode (fixed secret) and its webhook URL."""
    env, url = webhook_env(bot_env)
    process = BotProcess(fake_api, env, tmp_path)
    process.start()
    fake_api.webhook.wait_set(10)
    try:
        yield process, url
    finally:
        process.stop()
        assert "Traceback" not in process.log(), process.log()


def participants(url: str) -> int:
    """How many people the database knows."""
    return _query(url, lambda s: s.scalar(select(func.count()).select_from(Participant)))


def stranger_start(update_id: int = 1) -> dict:
    """A /start from someone the fake server does not know (a forged update)."""
    eve = {"id": 777, "is_bot": False, "first_name": "Eve"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": 777, "type": "private", "first_name": "Eve"},
            "from": eve,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def test_registration_and_requests_without_the_secret_are_refused(hooked, fake_api, migrated_url):
    bot, url = hooked
    (call,) = fake_api.calls_of("setWebhook")
    assert call.params["url"] == url
    assert call.params["secret_token"] == SECRET
    assert call.params["drop_pending_updates"] is False
    assert "poll_answer" in call.params["allowed_updates"]
    assert not fake_api.calls_of("getUpdates")
    info = httpx.post(f"{fake_api.url}/bot{fake_api.token}/getWebhookInfo").json()["result"]
    assert info["url"] == url and info["pending_update_count"] == 0

    forged = stranger_start()
    for headers in ({}, {HEADER: "wrong"}, {HEADER: SECRET[:-1]}, {HEADER: SECRET + "x"}):
        response = httpx.post(url, json=forged, headers=headers)
        assert response.status_code == 403, headers
    # With the secret: a body that is no update, and one far too big.
    assert httpx.post(url, content=b"{not json", headers={HEADER: SECRET}).status_code == 400
    huge = b'{"update_id": 5, "x": "' + b"a" * 2_000_000 + b'"}'
    assert httpx.post(url, content=huge, headers={HEADER: SECRET}).status_code == 413
    assert httpx.get(url).status_code == 405  # only POST
    assert participants(migrated_url) == 0
    assert bot.log().count("webhook: refused an update request") == 1  # at most once a minute
    assert fake_api.chats.get(777) is None or not fake_api.chats[777].messages

    # An update the library cannot read is answered 200 (or Telegram would resend it for
    # ever), logged and skipped; the bot carries on.
    garbage = fake_api.inject_raw_update({"message": "Zoraida Quenneville"})
    lea = fake_api.user(401, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")
    assert fake_api.update_confirmed(garbage)
    assert f"update {garbage} could not be read" in bot.log()
    assert "Zoraida" not in bot.log()
    assert SECRET not in bot.log()
    assert participants(migrated_url) == 1


def test_an_interview_end_to_end_and_a_redelivered_duplicate_once(hooked, fake_api, migrated_url):
    _bot, url = hooked
    lea = fake_api.user(402, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")
    act(lea, lambda: lea.send("Ich bin Lea"), "Wie gut weißt du")
    act(lea, lambda: lea.press("4"), "Was hast du nach der Schule vor?")
    seen = len(fake_api.webhook.attempts)
    act(lea, lambda: lea.press("Studium"), "Nebenjob")
    (tap,) = [a.update_id for a in fake_api.webhook.attempts[seen:]]

    # Telegram delivers it again (say the answer was lost on the way): twice at once, even.
    again = fake_api.webhook.posted(tap)
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda _: post(url, again), range(2)))
    assert codes == [200, 200]
    act(lea, lambda: lea.press("Nein"), "Unterstützung")

    assert answer_map(migrated_url) == {
        "self_image": "Ich bin Lea",
        "confidence": 4,
        "plan": "study",
        "has_job": "no",
    }
    assert Counter(a["step_id"] for a in answers(migrated_url))["plan"] == 1
    asked = [m for m in lea.messages() if "Nebenjob" in m.content]
    assert len(asked) == 1
    assert not fake_api.calls_of("getUpdates")
    assert all(a.status == 200 for a in fake_api.webhook.attempts)


def post(url: str, update: dict) -> int:
    """POST one update with the secret, as Telegram does."""
    return httpx.post(url, json=update, headers={HEADER: SECRET}, timeout=30).status_code


def kill_while_in_flight(bot: BotProcess, fake_api, action) -> None:
    """Do `action`, then SIGKILL the bot while the fake server waits for its answer."""
    action()
    deadline = time.monotonic() + 5
    while fake_api.webhook.in_flight() == 0:
        assert time.monotonic() < deadline, (
            "never seen waiting for its answer (answered before it was handled?)"
        )
        time.sleep(0.0005)
    bot.kill()


def test_sigkill_between_receipt_and_commit_loses_nothing(
    fake_api, bot_env, tmp_path, migrated_url
):
    # No fixed secret: each start makes a new one and registers it; what Telegram still
    # holds is then delivered with the new one.
    env, _url = webhook_env(bot_env, secret=None)
    bot = BotProcess(fake_api, env, tmp_path)
    bot.start()
    try:
        lea = fake_api.user(403, "Lea", "de")
        onboard(lea, expect="Wie würdest du dich")
        kill_while_in_flight(bot, fake_api, lambda: lea.send("Ich bin Lea"))
        bot.start()
        lea.wait_for("Wie gut weißt du", timeout=20)
        kill_while_in_flight(bot, fake_api, lambda: lea.press("4"))
        bot.start()
        lea.wait_for("Was hast du nach der Schule vor?", timeout=20)
        kill_while_in_flight(bot, fake_api, lambda: lea.press("Studium"))
        bot.start()
        lea.wait_for("Nebenjob", timeout=20)
        act(lea, lambda: lea.press("Nein"), "Unterstützung")
    finally:
        bot.stop()
    secrets = {c.params["secret_token"] for c in fake_api.calls_of("setWebhook")}
    assert len(secrets) == 4  # one per start

    rows = answers(migrated_url)
    assert Counter(r["step_id"] for r in rows) == {
        "self_image": 1,
        "confidence": 1,
        "plan": 1,
        "has_job": 1,
    }
    assert answer_map(migrated_url)["plan"] == "study"
    # Every kill cut a request short; the fake delivered each of those again.
    tries = Counter(a.update_id for a in fake_api.webhook.attempts)
    unanswered = {a.update_id for a in fake_api.webhook.attempts if a.status is None}
    assert len(unanswered) >= 3
    assert all(tries[uid] >= 2 for uid in unanswered)
    assert fake_api.updates_pending() == 0


def test_back_to_polling_removes_the_webhook_first(fake_api, bot_env, tmp_path, migrated_url):
    env, _url = webhook_env(bot_env)
    hooked = BotProcess(fake_api, env, tmp_path)
    hooked.start()
    fake_api.webhook.wait_set(10)
    lea = fake_api.user(404, "Lea", "de")
    onboard(lea, expect="Wie würdest du dich")
    hooked.stop()
    lea.send("Ich bin Lea")  # while the bot is down: Telegram keeps it
    polling = BotProcess(fake_api, bot_env, tmp_path)
    polling.start()
    try:
        lea.wait_for("Wie gut weißt du", timeout=20)
    finally:
        polling.stop()
    methods = [c.method for c in fake_api.calls]
    last_set = len(methods) - 1 - methods[::-1].index("setWebhook")
    after = methods[last_set:]
    assert after.index("deleteWebhook") < after.index("getUpdates")
    assert answer_map(migrated_url) == {"self_image": "Ich bin Lea"}


def test_a_webhook_url_telegram_refuses_is_a_clear_startup_error(fake_api, bot_env, tmp_path):
    env, _url = webhook_env(bot_env)
    env["BACKBONE_WEBHOOK_URL"] = "https://bot.example.org:9999/telegram/hook"
    process = BotProcess(fake_api, env, tmp_path)
    with pytest.raises(AssertionError, match="bot exited early"):
        process.start()
    assert "BACKBONE_WEBHOOK_URL was refused by Telegram" in process.log()
    assert "ports 80, 88, 443 or 8443" in process.log()
    assert "Traceback" not in process.log()
    refused = [e.method for e in fake_api.errors]
    assert refused == ["setWebhook"]
    fake_api.clear_records()  # the one refusal was the point
