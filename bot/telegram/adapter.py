"""The Telegram adapter: the only code that imports `telegram`."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import replace
from pathlib import Path

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes

from bot.i18n import Translator, available_locales, negotiate, translator
from bot.services.conversation import Conversation
from bot.services.events import (
    AddedToGroup,
    Command,
    Edited,
    Event,
    GroupEvent,
    GroupMessage,
    Media,
    Quote,
    Tap,
    Text,
    Unreadable,
)
from bot.services.flood import FloodGuard
from bot.services.replies import (
    Broadcast,
    ClearButtons,
    ClosePollTimer,
    EditText,
    Keyboard,
    LeaveChat,
    NativePoll,
    Outcome,
    Person,
    ProgressChanged,
    ResultsChanged,
    Schedule,
    SendDocument,
    SendPhoto,
    SendText,
    StopNativePoll,
    Typing,
)
from bot.telegram.ratelimit import GroupQueues, SendPacer
from bot.telegram.timers import TimerSweep
from flows.engine import OtherInput, PhotoInput, VoiceInput

log = logging.getLogger(__name__)
_SURROGATES = re.compile("[\ud800-\udfff]")

MAX_TEXT = 4096
RESULTS_EDIT_GAP = 3.0
# Calls that put a message in a chat count against Telegram's flood limits.
PACED_METHODS = frozenset(
    {
        "send_message",
        "send_photo",
        "send_document",
        "send_poll",
        "edit_message_text",
        "edit_message_reply_markup",
    }
)
SEND_ATTEMPTS = 4
# Replies that call Telegram for one chat; to a group (negative chat id) they are queued.
GROUP_QUEUED = (
    SendText,
    SendPhoto,
    SendDocument,
    NativePoll,
    StopNativePoll,
    EditText,
    ClearButtons,
    LeaveChat,
)
# Group commands that do something; answers to any other command are hints.
GROUP_ACTIONS = frozenset({"poll", "close"})


def to_group_event(
    update: Update, bot_id: int, bot_username: str | None = None
) -> tuple[Person, GroupEvent] | None:
    """A group update the bot must react to: being added, or a message it can see (a command
    addressed to another bot is not one of them)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or chat.type not in ("group", "supergroup"):
        return None
    person = _person(user, chat.id)
    member = update.my_chat_member
    if member is not None:
        joined = member.new_chat_member.status in ("member", "administrator")
        was_out = member.old_chat_member.status in ("left", "kicked")
        if member.new_chat_member.user.id == bot_id and joined and was_out:
            return person, AddedToGroup(chat.id)
        return None
    message = update.message
    if message is None or user.is_bot:
        return None
    command, args = None, ""
    if message.text and message.text.startswith("/"):
        parsed = parse_command(message.text, bot_username)
        if parsed is None:
            return None
        command, args = parsed
    return person, GroupMessage(chat.id, command, args)


def parse_command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """A /command's name and arguments; None when it is addressed to another bot
    (/close@other_bot). Without a known username every command counts as ours."""
    head, _, args = text.partition(" ")
    name, _, addressee = head[1:].partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    return name.lower(), args


def _person(user, chat_id: int) -> Person:
    return Person(
        telegram_user_id=user.id,
        chat_id=chat_id,
        first_name=user.first_name or "",
        username=user.username,
        language_code=user.language_code,
    )


def to_event(update: Update, bot_username: str | None = None) -> tuple[Person, Event] | None:
    """Translate a private-chat update into a person and what they did; None to ignore."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    if chat.type != "private":
        return None
    # What Telegram says about the person is stored and shown back: broken characters in it
    # are replaced, so a name can never make a message unsendable.
    person = Person(
        telegram_user_id=user.id,
        chat_id=chat.id,
        first_name=clean_text(user.first_name or ""),
        username=clean_text(user.username) if user.username else None,
        language_code=clean_text(user.language_code) if user.language_code else None,
    )
    if update.callback_query is not None:
        query = update.callback_query
        message_id = query.message.message_id if query.message else None
        return person, Tap(query.data, message_id)
    if update.edited_message is not None:
        return person, Edited()
    message = update.message
    if message is None:
        return None
    if message.text is not None and _SURROGATES.search(message.text):
        # Lone UTF-16 halves: UTF-8 cannot encode them, so such a text could neither be
        # stored nor sent back. It is refused (the person is asked again), never guessed at.
        return person, Unreadable()
    event = message_event(message, bot_username)
    if isinstance(event, Text):
        event = replace(event, reply_to=_quote(message))
    return None if event is None else (person, event)


def clean_text(text: str) -> str:
    """`text` with lone UTF-16 surrogates replaced by U+FFFD (so it can be stored and sent)."""
    return _SURROGATES.sub("\ufffd", text)


def _quote(message: Message) -> Quote | None:
    """The bot's message this one explicitly replies to, if any."""
    quoted = message.reply_to_message
    if quoted is None or quoted.from_user is None or not quoted.from_user.is_bot:
        return None  # in a private chat the only bot is this one
    return Quote(clean_text(quoted.text or quoted.caption or ""), quoted.date)


def message_event(message: Message, bot_username: str | None = None) -> Event | None:
    """The event a message stands for: a command, text, voice note, photo or something else;
    None for a command addressed to another bot (ignored: nothing stored, no reply)."""
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            parsed = parse_command(text, bot_username)
            return None if parsed is None else Command(*parsed)
        return Text(text)
    if message.voice is not None:
        v = message.voice
        return Media(VoiceInput(v.file_id, v.file_unique_id, v.duration or 0, v.mime_type or ""))
    if message.photo:
        p = max(message.photo, key=lambda size: size.width * size.height)
        return Media(PhotoInput(p.file_id, p.file_unique_id, p.width, p.height))
    for kind in (
        "sticker",
        "animation",
        "audio",
        "document",
        "video",
        "video_note",
        "location",
        "contact",
        "poll",
        "dice",
    ):
        if getattr(message, kind, None):
            return Media(OtherInput(kind))
    return Media(OtherInput("other"))


def keyboard(buttons: Keyboard | None) -> InlineKeyboardMarkup | None:
    """Inline keyboard markup from (label, data) rows."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


class TelegramMediaStore:
    """Downloads files people send into MEDIA_DIR through the Bot API."""

    def __init__(self, app: Application, media_dir: Path) -> None:
        self.app = app
        self.media_dir = media_dir

    async def download(self, file_id: str, relative_path: str) -> bool:
        """Fetch a file by id into MEDIA_DIR/relative_path."""
        target = self.media_dir / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        file = await self.app.bot.get_file(file_id)
        await file.download_to_drive(target)
        return True


class TelegramAdapter:
    """Feeds updates to the use cases and carries out their replies."""

    def __init__(
        self, app: Application, conversation: Conversation, flood: FloodGuard | None = None
    ) -> None:
        self.app = app
        self.conversation = conversation
        self.default_locale = conversation.default_locale
        self.flood = flood or FloodGuard()
        self.pacer = SendPacer()
        self.groups = GroupQueues()  # replies to groups, within 20 per minute per group
        # Live results and campaign progress: at most one edit per message every
        # RESULTS_EDIT_GAP seconds, however many votes or deliveries come in.
        self._refresh_due: dict[tuple[str, int], asyncio.Task] = {}
        self._refresh_last: dict[tuple[str, int], float] = {}
        self.campaigns = None  # the CampaignRunner, set by the composition root
        self._background: set[asyncio.Task] = set()

    async def on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update end to end (registered as the application's only handler)."""
        if update.poll_answer is not None:
            answer = update.poll_answer
            if answer.user is not None:
                person = _person(answer.user, answer.user.id)
                outcome = await self.conversation.handle_poll_answer(
                    update.update_id, person, answer.poll_id, list(answer.option_ids)
                )
                await self.deliver(outcome)
            return
        group = to_group_event(update, self.app.bot.id, self.app.bot.username)
        if group is not None:
            await self._on_group(update, *group)
            return
        translated = to_event(update, self.app.bot.username)
        if translated is None:
            return
        person, event = translated
        verdict = self.flood.check(person.telegram_user_id, time.monotonic())
        if verdict != FloodGuard.ALLOW:
            await self._flood_notice(update, person, verdict)
            return
        query_id = update.callback_query.id if update.callback_query else None
        try:
            outcome = await self.conversation.handle(update.update_id, person, event)
        except Exception:
            # Nothing was stored (the transaction rolled back); tell this person, and only them.
            log.exception("update %s failed", update.update_id)
            t = translator(negotiate(person.language_code, self.default_locale))
            sorry = t.gettext("Sorry, something went wrong on my side. Please send that again.")
            outcome = Outcome(replies=[SendText(person.chat_id, sorry)], callback_text=sorry)
        await self.deliver(outcome, query_id)

    async def _flood_notice(self, update: Update, person: Person, verdict: str) -> None:
        # Dropped on purpose: nothing is stored, and only one notice is sent per pause.
        if verdict == FloodGuard.NOTICE:
            t = translator(negotiate(person.language_code, self.default_locale))
            text = t.gettext(
                "You are sending a lot of messages very fast. I will ignore new messages "
                "for a minute — then just carry on."
            )
            await self._call(self.app.bot.send_message, chat_id=person.chat_id, text=text)
        if update.callback_query is not None:
            await self._call(self.app.bot.answer_callback_query, update.callback_query.id)

    async def _on_group(self, update: Update, person: Person, event: GroupEvent) -> None:
        """A group update: flood-guarded per group and per person; replies are queued."""
        if isinstance(event, GroupMessage):
            verdict = self.flood.check_group(
                event.chat_id, person.telegram_user_id, time.monotonic()
            )
            if verdict != FloodGuard.ALLOW:
                # Dropped on purpose: nothing is stored, the update is still confirmed.
                self._group_flood_notice(update, person, verdict)
                return
        outcome = await self.conversation.handle_group(update.update_id, person, event)
        # Answers to commands a group does not act on are hints: the first to go when the
        # group's queue is long.
        hint = isinstance(event, GroupMessage) and event.command not in GROUP_ACTIONS
        await self.deliver(outcome, essential=not hint)

    def _group_flood_notice(self, update: Update, person: Person, verdict: str) -> None:
        if verdict == FloodGuard.DROP:
            return
        t = translator(negotiate(person.language_code, self.default_locale))
        if verdict == FloodGuard.MEMBER_NOTICE:
            text = t.gettext(
                "You are sending a lot of messages very fast. I will ignore your messages "
                "for a minute."
            )
        else:
            text = t.gettext(
                "A lot of messages are arriving here very fast. I will ignore new messages "
                "in this group for a minute — then just carry on."
            )
        # Answer the message that tripped it, so the group sees whom the notice is for.
        reply_to = ReplyParameters(update.message.message_id, allow_sending_without_reply=True)
        chat_id = person.chat_id
        self.groups.put(
            chat_id,
            lambda: self._call(
                self.app.bot.send_message, chat_id=chat_id, text=text, reply_parameters=reply_to
            ),
        )

    async def deliver(
        self, outcome: Outcome, callback_query_id: str | None = None, essential: bool = True
    ) -> None:
        """Acknowledge the tap first (it must be quick), then send the replies in order.
        Replies to groups are queued per group and sent within its budget, in order;
        with `essential=False` they are dropped when the group's queue is long."""
        if outcome.duplicate:
            return
        if callback_query_id is not None:
            text = (outcome.callback_text or "")[:200] or None
            try:
                await self.app.bot.answer_callback_query(
                    callback_query_id, text=text, show_alert=outcome.callback_alert
                )
            except BadRequest as exc:  # too old a query: Telegram forgot it; nothing to do
                log.info("callback answer refused: %s", exc)
        for reply in outcome.replies:
            chat_id = getattr(reply, "chat_id", None)
            if isinstance(reply, GROUP_QUEUED) and chat_id is not None and chat_id < 0:
                self.groups.put(
                    chat_id,
                    lambda reply=reply: self._carry_out(reply),
                    counts=not isinstance(reply, LeaveChat),
                    essential=essential,
                )
            else:
                await self._carry_out(reply)

    async def _carry_out(self, reply) -> None:
        bot = self.app.bot
        if isinstance(reply, SendText):
            message = await self._call(
                bot.send_message,
                chat_id=reply.chat_id,
                text=reply.text[:MAX_TEXT],
                reply_markup=keyboard(reply.buttons),
            )
            if message is not None and reply.prompt_run_id is not None:
                await self.conversation.remember_prompt(reply.prompt_run_id, message.message_id)
            if message is not None and reply.results_poll_id is not None:
                await self.conversation.remember_results_message(
                    reply.results_poll_id, message.message_id
                )
        elif isinstance(reply, SendPhoto):
            await self._call(
                bot.send_photo,
                chat_id=reply.chat_id,
                photo=InputFile(reply.data, filename="image.png"),
                caption=reply.caption[:1024] or None,
            )
        elif isinstance(reply, Broadcast):
            self._in_background(self._broadcast(reply))
        elif isinstance(reply, ResultsChanged):
            self._results_changed(reply.poll_id)
        elif isinstance(reply, ProgressChanged):
            self.progress_changed(reply.campaign_id)
        elif isinstance(reply, ClosePollTimer):
            self.schedule_close(reply)
        elif isinstance(reply, NativePoll):
            message = await self._call(
                bot.send_poll,
                chat_id=reply.chat_id,
                question=reply.question[:300],
                options=[o[:100] for o in reply.options],
                is_anonymous=False,
                allows_multiple_answers=reply.multiple,
            )
            if message is not None and message.poll is not None:
                await self.conversation.remember_native_poll(
                    reply.poll_id, message.poll.id, message.message_id
                )
        elif isinstance(reply, StopNativePoll):
            await self._call(bot.stop_poll, chat_id=reply.chat_id, message_id=reply.message_id)
        elif isinstance(reply, EditText):
            await self._call(
                bot.edit_message_text,
                chat_id=reply.chat_id,
                message_id=reply.message_id,
                text=reply.text[:MAX_TEXT],
                reply_markup=keyboard(reply.buttons),
            )
        elif isinstance(reply, ClearButtons):
            await self._call(
                bot.edit_message_reply_markup,
                chat_id=reply.chat_id,
                message_id=reply.message_id,
                reply_markup=None,
            )
        elif isinstance(reply, SendDocument):
            await self._call(
                bot.send_document,
                chat_id=reply.chat_id,
                document=InputFile(reply.data, filename=reply.filename),
                caption=reply.caption[:1024] or None,
            )
        elif isinstance(reply, LeaveChat):
            log.info("leaving group %s: not added by staff", reply.chat_id)
            await self._call(bot.leave_chat, chat_id=reply.chat_id)
        elif isinstance(reply, Typing):
            await self._call(bot.send_chat_action, chat_id=reply.chat_id, action="typing")
        elif isinstance(reply, Schedule):
            self.schedule_settle(reply)

    async def _call(self, method, _paced: bool = False, **kwargs):
        """Call the Bot API with Telegram's error rules; never resend after a timeout."""
        if not _paced and method.__name__ in PACED_METHODS:
            await self.pacer.wait(kwargs.get("chat_id"), urgent=True)
        for attempt in range(SEND_ATTEMPTS):
            try:
                return await method(**kwargs)
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else delay
                await asyncio.sleep(float(seconds))
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return None
                log.warning("Telegram refused %s: %s", method.__name__, exc)
                return None
            except Forbidden as exc:
                log.info("chat unreachable (%s): %s", kwargs.get("chat_id"), exc)
                return None
            except TimedOut:
                # The message may have arrived: sending again could deliver it twice.
                log.warning("%s timed out; not retried", method.__name__)
                return None
            except NetworkError as exc:
                log.warning("network error on %s: %s", method.__name__, exc)
                await asyncio.sleep(0.5 * 2**attempt)
        return None

    # --- polls -------------------------------------------------------------------------
    def _in_background(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _broadcast(self, broadcast: Broadcast) -> None:
        """Send one message to many chats without holding up anyone's update."""
        for chat_id, text, buttons in broadcast.messages:
            await self.pacer.wait(chat_id)
            await self._call(
                self.app.bot.send_message,
                chat_id=chat_id,
                text=text[:MAX_TEXT],
                reply_markup=keyboard(buttons),
                _paced=True,
            )

    def _results_changed(self, poll_id: int) -> None:
        self._refresh(("poll", poll_id))

    def progress_changed(self, campaign_id: int) -> None:
        """A campaign's figures changed: refresh its progress message (coalesced)."""
        self._refresh(("campaign", campaign_id))

    def _refresh(self, key: tuple[str, int]) -> None:
        if key in self._refresh_due:
            return  # an edit is already scheduled; it will show this change too
        wait = self._refresh_last.get(key, 0.0) + RESULTS_EDIT_GAP - time.monotonic()
        self._refresh_due[key] = asyncio.create_task(self._edit_later(key, wait))

    async def _edit_later(self, key: tuple[str, int], wait: float) -> None:
        try:
            if wait > 0:
                await asyncio.sleep(wait)
            self._refresh_last[key] = time.monotonic()
            del self._refresh_due[key]
            kind, ident = key
            if kind == "poll":
                edit = await self.conversation.live_results(ident)
                if edit is not None:
                    await self._carry_out(edit)
            elif self.campaigns is not None:
                await self._show_progress(ident)
        except Exception:
            self._refresh_due.pop(key, None)
            log.exception("refreshing %s %s", *key)

    async def _show_progress(self, campaign_id: int) -> None:
        view = await self.campaigns.progress_view(campaign_id)
        if view is None:
            return
        chat_id, message_id, text = view
        if message_id is None:
            message = await self._call(self.app.bot.send_message, chat_id=chat_id, text=text)
            if message is not None:
                await self.campaigns.remember_progress_message(campaign_id, message.message_id)
        else:
            await self._call(
                self.app.bot.edit_message_text, chat_id=chat_id, message_id=message_id, text=text
            )

    # --- timers: due times are rows; the sweep (bot/telegram/timers.py) handles them ----
    timers: TimerSweep | None = None  # set by the composition root

    def schedule_close(self, timer: ClosePollTimer) -> None:
        """A poll's timer runs out at `timer.at`: have the sweep look then."""
        if self.timers is not None:
            self.timers.wake_at(timer.at)

    def schedule_settle(self, schedule: Schedule) -> None:
        """A free-text merge window ends at `schedule.at`: have the sweep look then."""
        if self.timers is not None:
            self.timers.wake_at(schedule.at)

    async def restore_timers(self) -> None:
        """At start-up: what came due while the bot was down is handled now, ahead of any new
        update of the same chat; open polls' live results are brought up to date."""
        if self.timers is not None:
            await self.timers.catch_up()
        _, open_polls = await self.conversation.poll_timers()
        for poll_id in open_polls:
            self._results_changed(poll_id)

    async def publish_commands(self) -> None:
        """Tell Telegram the command list in every language the bot speaks."""
        for locale in available_locales():
            t = translator(locale)
            commands = command_list(t)
            await self._call(self.app.bot.set_my_commands, commands=commands, language_code=locale)
        await self._call(self.app.bot.set_my_commands, commands=command_list(translator("en")))


def command_list(t: Translator) -> list[BotCommand]:
    """The command menu for one language."""
    return [
        BotCommand("start", t.gettext("start or continue an interview")),
        BotCommand("back", t.gettext("previous question")),
        BotCommand("pause", t.gettext("take a break")),
        BotCommand("resume", t.gettext("continue where you left off")),
        BotCommand("cancel", t.gettext("stop the interview")),
        BotCommand("language", t.gettext("choose a language")),
        BotCommand("privacy", t.gettext("what happens with your answers")),
        BotCommand("mydata", t.gettext("get your data")),
        BotCommand("delete", t.gettext("delete your data")),
        BotCommand("stop", t.gettext("no more invitations or reminders")),
        BotCommand("help", t.gettext("all commands")),
    ]
