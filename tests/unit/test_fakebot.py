"""The strict fake Bot API server: PTB's real requests pass, spec violations are rejected."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

_REPO = Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:  # `tests` is not an installed package
    sys.path.insert(0, str(_REPO))

import telegram  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup  # noqa: E402
from telegram.error import BadRequest, Forbidden, RetryAfter  # noqa: E402

from tests.fakebot import FakeBotAPI  # noqa: E402
from tests.fakebot.spec import default_spec_path  # noqa: E402
from tests.fakebot.textfmt import EntityParseError, parse_text  # noqa: E402

TOKEN = "123456:TEST-token"


@pytest.fixture
def server():
    srv = FakeBotAPI(token=TOKEN).start()
    try:
        yield srv
    finally:
        srv.stop()
    assert srv.spec_violations == [], "the fake produced objects that violate api.json"


def make_bot(srv: FakeBotAPI) -> telegram.Bot:
    return telegram.Bot(TOKEN, base_url=f"{srv.url}/bot", base_file_url=f"{srv.url}/file/bot")


def post(
    srv: FakeBotAPI, method: str, token: str = TOKEN, **params: Any
) -> tuple[int, dict[str, Any]]:
    """A raw form-encoded POST, like PTB sends (structured values as JSON strings)."""
    data = {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items() if v is not None
    }
    req = urllib.request.Request(
        f"{srv.url}/bot{token}/{method}",
        data=urllib.parse.urlencode(data).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def rejected(srv: FakeBotAPI, method: str, **params: Any) -> str:
    status, body = post(srv, method, **params)
    assert status == 400, body
    assert body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ")
    assert srv.errors[-1].description == body["description"]
    return body["description"]


def started_user(srv: FakeBotAPI, user_id: int = 1001):
    """A person who has written to the bot (so the bot may message them)."""
    u = srv.user(user_id, first_name="Lea")
    u.send("/start")
    return u


def kb(*labels_data: tuple[str, str]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in labels_data]]}


# ====================================================================== spec location
def test_spec_path_is_the_copy_in_the_repo_or_from_env(monkeypatch):
    monkeypatch.delenv("BACKBONE_TEST_BOTAPI_SPEC", raising=False)
    assert default_spec_path() == _REPO / "tests/fakebot/botapi/api.json"
    monkeypatch.setenv("BACKBONE_TEST_BOTAPI_SPEC", "/elsewhere/api.json")
    assert default_spec_path() == Path("/elsewhere/api.json")


# ====================================================================== PTB passes
async def test_ptb_get_me(server):
    async with make_bot(server) as bot:  # initialize() calls getMe
        me = await bot.get_me()
    assert me.username == "backbone_test_bot"
    assert me.is_bot and me.id == 123456
    assert bot.username == "backbone_test_bot"
    assert server.errors == []
    assert [c.method for c in server.calls] == ["getMe", "getMe"]


async def test_ptb_send_message_with_inline_keyboard_and_press(server):
    u = started_user(server)
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Ja ✅", callback_data="a:yes")],
            [InlineKeyboardButton("Nein", callback_data="a:no")],
        ]
    )
    async with make_bot(server) as bot:
        sent = await bot.send_message(
            u.id, "<b>Mitmachen?</b> &lt;bitte&gt;", parse_mode="HTML", reply_markup=markup
        )
        assert sent.text == "Mitmachen? <bitte>"
        assert sent.entities[0].type == "bold" and sent.entities[0].length == 10
        assert sent.reply_markup == markup
        assert sent.from_user.username == "backbone_test_bot"

        msg = u.last()
        assert msg.text == "Mitmachen? <bitte>" and msg.buttons == [["Ja ✅"], ["Nein"]]
        assert u.buttons() == [["Ja ✅"], ["Nein"]]

        qid = u.press("Ja")  # contains-match
        updates = await bot.get_updates(offset=-1, timeout=1)
        cq = updates[-1].callback_query
        assert cq.id == qid and cq.data == "a:yes" and cq.from_user.id == u.id
        assert cq.message.message_id == sent.message_id
        assert await cq.answer("Gespeichert", show_alert=True)
        assert u.wait_callback_answer(qid, timeout=1)["text"] == "Gespeichert"
        assert u.callback_answers() == [
            {
                "query_id": qid,
                "text": "Gespeichert",
                "show_alert": True,
                "url": None,
                "cache_time": 0,
            }
        ]
        with pytest.raises(BadRequest, match="(?i)query id is invalid"):
            await bot.answer_callback_query(qid, text="again")
    assert [e.method for e in server.errors] == ["answerCallbackQuery"]


async def test_ptb_edit_message_text_and_reply_markup(server):
    u = started_user(server)
    async with make_bot(server) as bot:
        sent = await bot.send_message(
            u.id,
            "Frage 1",
            reply_markup=InlineKeyboardMarkup.from_button(
                InlineKeyboardButton("Weiter", callback_data="next")
            ),
        )
        edited = await bot.edit_message_text("Frage 1 ✔", chat_id=u.id, message_id=sent.message_id)
        assert edited.text == "Frage 1 ✔" and edited.edit_date is not None
        assert edited.reply_markup is None  # like Telegram: no reply_markup -> keyboard gone
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("Frage 1 ✔", chat_id=u.id, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=u.id, message_id=999)
        new_markup = InlineKeyboardMarkup.from_button(
            InlineKeyboardButton("OK", callback_data="ok")
        )
        await bot.edit_message_reply_markup(u.id, sent.message_id, reply_markup=new_markup)
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_reply_markup(u.id, sent.message_id, reply_markup=new_markup)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_reply_markup(u.id, 4242, reply_markup=new_markup)
    msg = u.message(sent.message_id)
    assert msg.text == "Frage 1 ✔" and msg.buttons == [["OK"]] and msg.edit_count == 2
    assert len(server.errors) == 4


async def test_ptb_send_document_multipart(server):
    u = started_user(server)
    payload = b"Name;Antwort\nLea;Ja\n"
    async with make_bot(server) as bot:
        sent = await bot.send_document(
            u.id,
            payload,
            filename="antworten.csv",
            caption="Export <i>heute</i>",
            parse_mode="HTML",
        )
    assert sent.document.file_name == "antworten.csv"
    assert sent.document.file_size == len(payload)
    assert sent.caption == "Export heute"
    doc = u.last()
    assert doc.kind == "document" and doc.filename == "antworten.csv"
    assert doc.data == payload and doc.document_bytes == payload
    assert doc.caption == "Export heute"
    assert server.errors == []


async def test_ptb_get_file_and_download_of_a_voice_note(server):
    u = started_user(server)
    u.send_voice(duration=7, data=b"OggS-voice-bytes")
    async with make_bot(server) as bot:
        updates = await bot.get_updates(timeout=1)
        voice = updates[-1].message.voice
        assert updates[-1].message.to_dict()["voice"]["duration"] == 7
        f = await bot.get_file(voice.file_id)
        assert f.file_path.startswith(f"{server.url}/file/bot{TOKEN}/")
        assert bytes(await f.download_as_bytearray()) == b"OggS-voice-bytes"
        with pytest.raises(BadRequest, match="(?i)invalid file_id"):
            await bot.get_file("nope")


async def test_ptb_get_updates_long_poll_returns_a_simulated_message(server):
    u = server.user(1001)
    async with make_bot(server) as bot:
        threading.Timer(0.3, u.send, args=("Hallo Bot",)).start()
        t0 = time.monotonic()
        updates = await bot.get_updates(timeout=5)
        assert 0.2 < time.monotonic() - t0 < 4
        assert [x.message.text for x in updates] == ["Hallo Bot"]
        # nothing new: waits `timeout` seconds, then returns [] (PTB would spin otherwise)
        t0 = time.monotonic()
        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
        assert time.monotonic() - t0 >= 0.9
    assert server.updates_pending() == 0
    server.wait_idle(timeout=1)


async def test_get_updates_offset_limit_and_allowed_updates(server):
    u = server.user(1001)
    ids = [u.send(f"m{i}") for i in range(3)]
    async with make_bot(server) as bot:
        first = await bot.get_updates(limit=2)
        assert [x.update_id for x in first] == ids[:2]
        again = await bot.get_updates()  # not confirmed yet: delivered again
        assert [x.update_id for x in again] == ids
        rest = await bot.get_updates(offset=ids[1] + 1)
        assert [x.update_id for x in rest] == ids[2:]
        u.send("text")
        await bot.send_message(u.id, "Hi")
        u.press_data("forged")
        only_cb = await bot.get_updates(offset=ids[2] + 1, allowed_updates=["callback_query"])
        assert [x.callback_query.data for x in only_cb] == ["forged"]


async def test_ptb_send_poll_votes_and_stop(server):
    u = started_user(server)
    async with make_bot(server) as bot:
        msg = await bot.send_poll(u.id, "Wie war's?", ["gut", "schlecht"], is_anonymous=False)
        assert msg.poll.allows_revoting is True and msg.poll.options[0].persistent_id
        answer_update = u.vote(msg.poll.id, [0])
        updates = await bot.get_updates(offset=-2, timeout=1)
        kinds = [("poll" if x.poll else "poll_answer") for x in updates]
        assert kinds == ["poll", "poll_answer"]
        assert updates[-1].update_id == answer_update
        assert updates[-1].poll_answer.option_ids == (0,)
        stopped = await bot.stop_poll(u.id, msg.message_id)
        assert stopped.is_closed and stopped.options[0].voter_count == 1
        with pytest.raises(BadRequest, match="(?i)already been closed"):
            await bot.stop_poll(u.id, msg.message_id)
        with pytest.raises(BadRequest, match="(?i)at least 2 option"):
            await bot.send_poll(u.id, "Q", ["only"])


async def test_ptb_commands_menu_chat_action_get_chat(server):
    u = started_user(server)
    async with make_bot(server) as bot:
        await bot.set_my_commands([("start", "Beginnen"), ("hilfe", "Hilfe")], language_code="de")
        assert [c.command for c in await bot.get_my_commands(language_code="de")] == [
            "start",
            "hilfe",
        ]
        assert await bot.get_my_commands() == ()
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start", "x")])
        await bot.set_chat_menu_button()
        await bot.send_chat_action(u.id, "typing")
        chat = await bot.get_chat(u.id)
        assert chat.first_name == "Lea"
        member = await bot.get_chat_member(u.id, u.id)
        assert member.status == "member"
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.delete_message(u.id, u.last_sent_message_id())
    assert server.bot_commands(language_code="de")[0]["command"] == "start"
    assert [a for _, a in server.chat_actions(u.id)] == ["typing"]


# ====================================================================== rejections
def test_wrong_token_is_401(server):
    status, body = post(server, "getMe", token="123456:wrong")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert server.errors[-1].description == "Unauthorized"


def test_unknown_method_is_404(server):
    status, body = post(server, "sendMessages", chat_id=1, text="x")
    assert status == 404 and body["description"] == "Not Found"
    assert post(server, "GETME")[0] == 200  # method names are case-insensitive


def test_unknown_missing_and_wrongly_typed_parameters(server):
    u = started_user(server)
    assert 'unknown parameter "reply_to_message_id"' in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_to_message_id=1
    )
    assert 'parameter "text" is required' in rejected(server, "sendMessage", chat_id=u.id)
    assert "expected Integer" in rejected(
        server, "editMessageText", chat_id=u.id, message_id="eins", text="x"
    )
    assert "expected Boolean" in rejected(
        server, "sendMessage", chat_id=u.id, text="x", disable_notification="yes"
    )
    assert "expected Integer" in rejected(server, "getUpdates", timeout="1.5")
    assert len(server.errors) == 5
    assert server.errors[0].method == "sendMessage"
    assert server.errors[0].params["reply_to_message_id"] == "1"


def test_text_limits(server):
    u = started_user(server)
    assert "message is too long" in rejected(server, "sendMessage", chat_id=u.id, text="x" * 4097)
    assert post(server, "sendMessage", chat_id=u.id, text="x" * 4096)[0] == 200
    # the limit is on the text after HTML parsing
    html = "<b>" + "x" * 4096 + "</b>"
    assert post(server, "sendMessage", chat_id=u.id, text=html, parse_mode="HTML")[0] == 200
    assert "message text is empty" in rejected(server, "sendMessage", chat_id=u.id, text="")
    assert "message text is empty" in rejected(
        server, "sendMessage", chat_id=u.id, text="<b></b>", parse_mode="HTML"
    )
    assert "can't parse entities" in rejected(
        server, "sendMessage", chat_id=u.id, text="1 < 2", parse_mode="HTML"
    )
    assert "can't parse entities" in rejected(
        server, "sendMessage", chat_id=u.id, text="<b>offen", parse_mode="HTML"
    )
    assert "reserved" in rejected(
        server, "sendMessage", chat_id=u.id, text="Danke.", parse_mode="MarkdownV2"
    )
    assert "caption is too long" in rejected(
        server, "sendDocument", chat_id=u.id, document="x", caption="c" * 1025
    )


def test_callback_data_and_keyboard_checks(server):
    u = started_user(server)
    ok = kb(("Ja", "ä" * 32))  # 64 bytes
    assert post(server, "sendMessage", chat_id=u.id, text="x", reply_markup=ok)[0] == 200
    too_long = kb(("Ja", "ä" * 32 + "x"))  # 65 bytes
    assert "BUTTON_DATA_INVALID" in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_markup=too_long
    )
    assert "not valid JSON" in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_markup="{inline_keyboard: [[]]"
    )
    unknown = {"inline_keyboard": [[{"text": "a", "callback_data": "a", "colour": "red"}]]}
    assert 'unknown field "colour"' in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_markup=unknown
    )
    missing = {"inline_keyboard": [[{"callback_data": "a"}]]}
    assert 'missing required field "text"' in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_markup=missing
    )
    wrong_type = {"inline_keyboard": [[{"text": "a", "callback_data": 5}]]}
    desc = rejected(server, "sendMessage", chat_id=u.id, text="x", reply_markup=wrong_type)
    assert "inline_keyboard[0][0].callback_data" in desc and "String" in desc
    not_nested = {"inline_keyboard": [{"text": "a", "callback_data": "a"}]}
    assert "expected an array" in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_markup=not_nested
    )
    no_action = {"inline_keyboard": [[{"text": "a"}]]}
    assert "Text buttons are unallowed" in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_markup=no_action
    )
    empty_text = kb(("", "a"))
    assert "BUTTON_TEXT_INVALID" in rejected(
        server, "sendMessage", chat_id=u.id, text="x", reply_markup=empty_text
    )
    assert len(server.errors) == 8


def test_other_documented_limits(server):
    u = started_user(server)
    assert "MESSAGE_TOO_LONG" in rejected(
        server, "answerCallbackQuery", callback_query_id="1", text="x" * 201
    )
    assert "query ID is invalid" in rejected(server, "answerCallbackQuery", callback_query_id="1")
    opts = [{"text": "a"}, {"text": "b"}]
    assert "question length" in rejected(
        server, "sendPoll", chat_id=u.id, question="q" * 301, options=opts
    )
    assert "can't have more than 12" in rejected(
        server,
        "sendPoll",
        chat_id=u.id,
        question="q",
        options=[{"text": str(i)} for i in range(13)],
    )
    assert "options length" in rejected(
        server, "sendPoll", chat_id=u.id, question="q", options=[{"text": "o" * 101}, {"text": "b"}]
    )
    assert "BOT_COMMAND_INVALID" in rejected(
        server, "setMyCommands", commands=[{"command": "x" * 33, "description": "d"}]
    )
    assert "description length" in rejected(
        server, "setMyCommands", commands=[{"command": "ok", "description": ""}]
    )
    assert "wrong parameter action" in rejected(
        server, "sendChatAction", chat_id=u.id, action="dancing"
    )
    scope = {"type": "all_private_chats"}
    assert post(server, "setMyCommands", commands=[], scope=scope)[0] == 200
    assert "unsupported BotCommandScope type" in rejected(
        server, "setMyCommands", commands=[], scope={"type": "everyone"}
    )


def test_chats_the_bot_cannot_write_to(server):
    assert "chat not found" in rejected(server, "sendMessage", chat_id=42, text="x")
    server.user(7)  # exists, but never wrote to the bot
    status, body = post(server, "sendMessage", chat_id=7, text="x")
    assert status == 403 and "can't initiate conversation" in body["description"]


def test_spec_method_without_behaviour_is_not_a_silent_success(server):
    assert "fake: not implemented: sendDice" in rejected(server, "sendDice", chat_id=1)


# ====================================================================== faults
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_fail_next_block_and_fault_rates(server):
    u = started_user(server)
    server.fail_next("sendMessage", 429, retry_after=3, times=2)
    status, body = post(server, "sendMessage", chat_id=u.id, text="x")
    assert status == 429 and body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    async with make_bot(server) as bot:
        with pytest.raises(RetryAfter):
            await bot.send_message(u.id, "x")
        await bot.send_message(u.id, "second try")

        u.block()
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(u.id, "x")
        updates = await bot.get_updates(offset=-1)
        assert updates[-1].my_chat_member.new_chat_member.status == "kicked"
        u.unblock()

        server.set_fault_rates(rate_5xx=1.0, seed=1)
        with pytest.raises(telegram.error.NetworkError):
            await bot.send_message(u.id, "x")
        await bot.get_me()  # setup methods are spared
        server.set_fault_rates()
    assert [f.error_code for f in server.faults] == [429, 429, 403, 500]
    assert server.errors == []
    assert len(server.send_times(u.id)) == 1


# ====================================================================== simulated people
def test_wait_for_and_wait_reply_with_a_bot_thread(server):
    u = started_user(server)

    def bot_replies():
        time.sleep(0.2)
        post(
            server, "sendMessage", chat_id=u.id, text="Willkommen!", reply_markup=kb(("Los", "go"))
        )

    first = u.last_sent_message_id()
    threading.Thread(target=bot_replies).start()
    reply = u.wait_reply(timeout=5)
    assert reply.text == "Willkommen!"
    assert u.wait_for("Willkommen").message_id == reply.message_id
    assert u.wait_for(lambda m: m.buttons == [["Los"]]).text == "Willkommen!"
    qid = u.press("Los")
    post(server, "editMessageText", chat_id=u.id, message_id=reply.message_id, text="Los geht's")
    edited = u.wait_reply(timeout=2)
    assert edited.text == "Los geht's" and edited.edited
    assert qid in server.callback_queries
    assert u.texts() == ["Los geht's"]
    with pytest.raises(AssertionError) as exc:
        u.wait_for("nie gesendet", timeout=0.3)
    report = str(exc.value)
    assert "Lea: /start" in report and "Willkommen!" in report and "[tap] Lea" in report
    assert first == 1


def test_people_send_media_and_edits(server):
    u = server.user(5, first_name="Max", language_code="en", username="max")
    ids = [
        u.send("/start invite-42"),
        u.send_photo(caption="Foto"),
        u.send_sticker(),
        u.send_document("notes.txt", b"hello"),
        u.send_location(),
    ]
    u.edit(1, "/start other")
    status, body = post(server, "getUpdates")
    assert status == 200
    updates = body["result"]
    assert [x["update_id"] for x in updates][:5] == ids
    start = updates[0]["message"]
    assert start["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert start["from"]["username"] == "max" and start["chat"]["type"] == "private"
    assert "photo" in updates[1]["message"] and updates[1]["message"]["caption"] == "Foto"
    assert updates[3]["message"]["document"]["file_name"] == "notes.txt"
    assert updates[5]["edited_message"]["text"] == "/start other"
    file_id = updates[3]["message"]["document"]["file_id"]
    status, body = post(server, "getFile", file_id=file_id)
    path = body["result"]["file_path"]
    with urllib.request.urlopen(f"{server.url}/file/bot{TOKEN}/{path}") as resp:
        assert resp.read() == b"hello"


def test_group_privacy_mode_and_members(server):
    g = server.group(-1001, "Allianz", type="supergroup")
    lea, max_ = server.user(1, "Lea"), server.user(2, "Max")
    assert g.send(lea, "Hallo zusammen") is None  # privacy mode: not for the bot
    assert g.send(lea, "/umfrage@backbone_test_bot") is not None
    assert g.send(max_, "@backbone_test_bot hilf mir") is not None
    g.set_admin(max_)
    status, body = post(server, "getChatMember", chat_id=-1001, user_id=2)
    assert body["result"]["status"] == "administrator"
    status, body = post(
        server, "sendMessage", chat_id=-1001, text="Umfrage!", reply_markup=kb(("A", "a"))
    )
    assert status == 200 and body["result"]["chat"]["type"] == "supergroup"
    qid = g.press(lea, "A")
    assert server.callback_queries[qid].user_id == 1
    assert post(server, "leaveChat", chat_id=-1001)[0] == 200
    status, body = post(server, "sendMessage", chat_id=-1001, text="x")
    assert status == 403


def test_getupdates_conflict_terminates_the_older_poll(server):
    results: list[Any] = []
    t = threading.Thread(target=lambda: results.append(post(server, "getUpdates", timeout=5)))
    t.start()
    time.sleep(0.3)
    assert post(server, "getUpdates", timeout=0)[0] == 200
    t.join(5)
    assert results[0][0] == 409 and "Conflict" in results[0][1]["description"]


# ====================================================================== formatting
@pytest.mark.parametrize(
    ("text", "mode", "plain"),
    [
        ("<b>a</b> &amp; <i>b</i>", "HTML", "a & b"),
        ('<a href="https://x.org">link</a>', "HTML", "link"),
        (
            '<span class="tg-spoiler">s</span><pre><code class="language-py">x</code></pre>',
            "HTML",
            "sx",
        ),
        ("*bold* _it_ \\. \\!", "MarkdownV2", "bold it . !"),
        ("[link](https://x.org/a\\)b)", "MarkdownV2", "link"),
        ("*b* _i_ `c`", "Markdown", "b i c"),
    ],
)
def test_parse_modes(text, mode, plain):
    assert parse_text(text, mode)[0] == plain


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("<foo>x</foo>", "HTML"),
        ("<b>x</i>", "HTML"),
        ("a-b", "MarkdownV2"),
        ("*open", "MarkdownV2"),
    ],
)
def test_parse_errors(text, mode):
    with pytest.raises(EntityParseError):
        parse_text(text, mode)


def test_runs_standalone_module_help():
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "tests.fakebot", "--help"],
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and "--port" in out.stdout


def test_async_helpers_do_not_block_the_loop(server):
    """wait_* are sync; from async code use asyncio.to_thread (documented)."""

    async def scenario():
        u = started_user(server)
        task = asyncio.create_task(asyncio.to_thread(u.wait_for, "pong", 5))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(post, server, "sendMessage", chat_id=u.id, text="pong")
        return await task

    assert asyncio.run(scenario()).text == "pong"


# ====================================================================== a real PTB Application
async def test_ptb_application_polling_end_to_end(server):
    """PTB's own Updater (long polling, offsets, shutdown clean-up) against the fake."""
    from telegram.ext import (
        Application,
        CallbackQueryHandler,
        CommandHandler,
        MessageHandler,
        filters,
    )

    async def start(update, context):
        await update.message.reply_text(
            f"Hallo {update.effective_user.first_name}! Mitmachen?",
            reply_markup=InlineKeyboardMarkup.from_row(
                [
                    InlineKeyboardButton("Ja", callback_data="join:yes"),
                    InlineKeyboardButton("Nein", callback_data="join:no"),
                ]
            ),
        )

    async def pressed(update, context):
        q = update.callback_query
        await q.answer("Danke!")
        await q.edit_message_text(f"Antwort: {q.data.split(':')[1]}")

    async def voice(update, context):
        f = await update.message.voice.get_file()
        data = await f.download_as_bytearray()
        await update.message.reply_document(bytes(data), filename="echo.oga")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{server.url}/bot")
        .base_file_url(f"{server.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.VOICE, voice))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=2, drop_pending_updates=True)
        try:
            await asyncio.to_thread(server.wait_polling, 5)

            def person():
                u = server.user(1001, first_name="Lea")
                u.send("/start")
                assert u.wait_for("Mitmachen?").buttons == [["Ja", "Nein"]]
                qid = u.press("Ja")
                assert u.wait_callback_answer(qid)["text"] == "Danke!"
                assert u.wait_for("Antwort: yes").edit_count == 1
                u.send_voice(data=b"OggS-123")
                doc = u.wait_for(lambda m: m.kind == "document")
                assert doc.filename == "echo.oga" and doc.data == b"OggS-123"

            await asyncio.to_thread(person)
        finally:
            await app.updater.stop()
            await app.stop()
    assert server.errors == []
    assert server.updates_pending() == 0
    methods = {c.method for c in server.calls}
    assert {"getMe", "deleteWebhook", "getUpdates", "answerCallbackQuery"} <= methods


async def test_ptb_defaults_extra_params_are_tolerated_like_telegram(server):
    """PTB's Defaults add parse_mode/protect_content/... to methods without them."""
    from telegram import LinkPreviewOptions
    from telegram.ext import Defaults, ExtBot

    u = started_user(server)
    defaults = Defaults(
        parse_mode="HTML",
        protect_content=True,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        do_quote=True,
    )
    bot = ExtBot(TOKEN, base_url=f"{server.url}/bot", defaults=defaults)
    async with bot:
        msg = await bot.send_message(u.id, "<b>fett</b>")
        await bot.edit_message_text("<i>neu</i>", chat_id=u.id, message_id=msg.message_id)
        await bot.send_poll(u.id, "Q?", ["a", "b"], type="quiz", correct_option_ids=[1])
        update = (await bot.get_updates())[-1]
        reply = await update.message.reply_text("zitiert")
        assert reply.reply_to_message.text == "/start"
    assert server.errors == []
    assert ("sendPoll", "parse_mode", "HTML") in server.ignored_params
    assert ("editMessageText", "protect_content", "true") in server.ignored_params
    assert u.message(msg.message_id).text == "neu"


def test_json_body_and_get_requests(server):
    u = started_user(server)
    body = json.dumps({"chat_id": u.id, "text": "json", "reply_markup": kb(("a", "a"))})
    req = urllib.request.Request(
        f"{server.url}/bot{TOKEN}/sendMessage",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        assert json.loads(resp.read())["result"]["reply_markup"] == kb(("a", "a"))
    with urllib.request.urlopen(f"{server.url}/bot{TOKEN}/getMe") as resp:
        assert json.loads(resp.read())["result"]["username"] == "backbone_test_bot"
    bad_json = json.dumps({"chat_id": u.id, "text": 5})
    req = urllib.request.Request(
        f"{server.url}/bot{TOKEN}/sendMessage",
        data=bad_json.encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 400


def test_rate_limits_and_send_times(server):
    u = started_user(server)
    server.set_rate_limits(per_chat_per_second=1)
    assert post(server, "sendMessage", chat_id=u.id, text="1")[0] == 200
    status, body = post(server, "sendMessage", chat_id=u.id, text="2")
    assert status == 429 and body["parameters"]["retry_after"] == 1
    assert post(server, "sendChatAction", chat_id=u.id, action="typing")[0] == 200
    server.set_rate_limits()
    assert post(server, "sendMessage", chat_id=u.id, text="3")[0] == 200
    assert len(server.send_times(u.id)) == 2
    assert [c for _, c in server.all_send_times()] == [u.id, u.id]
    assert [f.error_code for f in server.faults] == [429]


def test_block_then_writing_again_unblocks(server):
    u = started_user(server)
    u.block()
    assert post(server, "sendMessage", chat_id=u.id, text="x")[0] == 403
    u.send("/start")
    assert post(server, "sendMessage", chat_id=u.id, text="x")[0] == 200
    _, body = post(server, "getUpdates")
    kinds = [next(k for k in x if k != "update_id") for x in body["result"]]
    assert kinds == ["message", "my_chat_member", "my_chat_member", "message"]


def test_wait_idle(server):
    u = server.user(1001)
    u.send("a")
    with pytest.raises(AssertionError, match="1 updates pending"):
        server.wait_idle(timeout=0.2)
    threading.Timer(0.2, post, args=(server, "getUpdates")).start()
    server.wait_idle(timeout=3, quiet=0.2)
    assert server.updates_pending() == 0


async def test_ptb_photo_voice_resend_by_file_id_and_group_poll(server):
    u = started_user(server)
    g = server.group(-100777, "Allianz")
    lea, max_ = server.user(1, "Lea"), server.user(2, "Max")
    async with make_bot(server) as bot:
        photo = await bot.send_photo(u.id, b"\xff\xd8jpeg", caption="Bild")
        voice = await bot.send_voice(u.id, b"OggS", duration=3)
        again = await bot.send_photo(u.id, photo.photo[-1].file_id)
        assert again.photo[-1].file_id == photo.photo[-1].file_id
        with pytest.raises(BadRequest, match="(?i)can't use file of type voice"):
            await bot.send_document(u.id, voice.voice.file_id)
        assert [m.kind for m in u.messages()] == ["photo", "voice", "photo"]
        assert u.messages()[1].data == b"OggS"

        poll_msg = await bot.send_poll(
            g.chat_id,
            "Termin?",
            ["Mo", "Di", "Mi"],
            is_anonymous=False,
            allows_multiple_answers=True,
        )
        g.vote(lea, poll_msg.poll.id, [0, 2])
        g.vote(max_, g.last(), [1])
        g.vote(max_, poll_msg.poll.id, [])  # retract
        updates = await bot.get_updates()
        answers = [x.poll_answer for x in updates if x.poll_answer]
        assert [(a.user.id, a.option_ids) for a in answers] == [(1, (0, 2)), (2, (1,)), (2, ())]
        stopped = await bot.stop_poll(g.chat_id, poll_msg.message_id)
        assert [o.voter_count for o in stopped.options] == [1, 0, 1]
        assert stopped.total_voter_count == 1
    assert "[vote] Lea -> Mo, Mi" in g.transcript()


def test_wait_for_since_a_snapshot_ignores_earlier_edits(server):
    u = started_user(server)
    post(server, "sendMessage", chat_id=u.id, text="Frage", reply_markup=kb(("A", "a")))
    post(server, "sendMessage", chat_id=u.id, text="Zweite")
    post(server, "editMessageText", chat_id=u.id, message_id=2, text="Frage ✅")
    mark = u.last()  # "Zweite"; the edit of #2 happened before this snapshot
    with pytest.raises(AssertionError):
        u.wait_for("✅", since=mark, timeout=0.2)
    post(server, "editMessageText", chat_id=u.id, message_id=3, text="Zweite ✅")
    assert u.wait_for("✅", since=mark, timeout=1).message_id == 3
    update = u.send("weiter")
    post(server, "sendMessage", chat_id=u.id, text="Dritte ✅")
    assert u.wait_for("✅", since=update, timeout=1).text == "Dritte ✅"
