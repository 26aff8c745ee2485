"""The Telegram adapter: updates in, replies out. Only bot/telegram imports `telegram`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from telegram import BotCommand, ReplyParameters, Update
from telegram.ext import Application

from bot.i18n import Translator, available_locales, negotiate, translator
from bot.services.events import GroupEvent, GroupMessage
from bot.services.flood import FloodGuard
from bot.services.replies import (
    Broadcast,
    ClosePollTimer,
    LeaveChat,
    Outcome,
    Person,
    ProgressChanged,
    ResultsChanged,
    Schedule,
    SendText,
    Typing,
)
from bot.telegram.carrier import Carrier
from bot.telegram.convert import person_of, to_event, to_group_event
from bot.telegram.errors import classify
from bot.telegram.outbound import Outbound
from bot.telegram.ratelimit import SendPacer
from bot.telegram.refresh import Key, Refresher
from bot.telegram.timers import TimerSweep

log = logging.getLogger(__name__)

# Group commands that do something; answers to any other command are hints, the first to
# be dropped when a group's queue is long.
GROUP_ACTIONS = frozenset({"poll", "close"})
MAX_ANSWER = 200  # answerCallbackQuery text
REPLY_WAIT = 3.0


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
    """Feeds updates to the use cases, acknowledges taps at once, queues the replies."""

    def __init__(
        self,
        app: Application,
        conversation,
        flood: FloodGuard | None = None,
        pacer: SendPacer | None = None,
    ) -> None:
        self.app = app
        self.conversation = conversation
        self.default_locale = conversation.default_locale
        self.flood = flood or FloodGuard()
        self.outbound = Outbound(pacer or SendPacer())
        self.carrier = Carrier(app, conversation)
        self.refresher = Refresher(self._refresh)
        self._shown: dict[Key, object] = {}  # the live-results edit last made, per poll
        self.campaigns = None  # the CampaignRunner, set by the composition root
        self.timers: TimerSweep | None = None  # set by the composition root

    @property
    def pacer(self) -> SendPacer:
        """The one pacer every message waits for (the campaign sender too)."""
        return self.outbound.pacer

    async def on_update(self, update: Update, _context: object = None) -> None:
        """Handle one update: its transaction, the tap's acknowledgement, queued replies."""
        if update.poll_answer is not None:
            answer = update.poll_answer
            if answer.user is not None:
                await self.carrier.native_polls_known()
                person = person_of(answer.user, answer.user.id)
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
        query_id = update.callback_query.id if update.callback_query else None
        verdict = self.flood.check(person.telegram_user_id, time.monotonic())
        if verdict != FloodGuard.ALLOW:
            # Dropped on purpose: nothing is stored, and only one notice is sent per pause.
            notice = self._notice(person, verdict == FloodGuard.NOTICE)
            await self.deliver(Outcome(replies=notice), query_id)
            return
        try:
            outcome = await self.conversation.handle(update.update_id, person, event)
        except Exception:
            # Nothing was stored (the transaction rolled back); tell this person, and only them.
            log.exception("update %s failed", update.update_id)
            t = translator(negotiate(person.language_code, self.default_locale))
            sorry = t.gettext("Sorry, something went wrong on my side. Please send that again.")
            outcome = Outcome(replies=[SendText(person.chat_id, sorry)], callback_text=sorry)
        await self.deliver(outcome, query_id)

    def _notice(self, person: Person, first: bool) -> list:
        if not first:
            return []
        t = translator(negotiate(person.language_code, self.default_locale))
        text = t.gettext(
            "You are sending a lot of messages very fast. I will ignore new messages "
            "for a minute — then just carry on."
        )
        return [SendText(person.chat_id, text)]

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
        chat_id, send = person.chat_id, self.app.bot.send_message
        self.outbound.put(
            chat_id,
            lambda: self.carrier.call(send, chat_id=chat_id, text=text, reply_parameters=reply_to),
        )

    async def deliver(
        self, outcome: Outcome, callback_query_id: str | None = None, essential: bool = True
    ) -> None:
        """Acknowledge the tap first (it must be quick), then queue the replies in order.
        With `essential=False` they are dropped when their chat's queue is long."""
        if outcome.duplicate:
            return
        if callback_query_id is not None:
            await self._answer_tap(callback_query_id, outcome)
        kinds = self.carrier.kinds
        for reply in outcome.replies:
            if isinstance(reply, kinds):
                quiet = isinstance(reply, LeaveChat | Typing)  # not a message in the chat
                self.outbound.put(
                    reply.chat_id,
                    lambda reply=reply: self.carrier.carry_out(reply),
                    essential=essential,
                    counts=not quiet,
                )
            elif isinstance(reply, Broadcast):
                for chat_id, text, buttons in reply.messages:
                    message = SendText(chat_id, text, buttons)
                    self.outbound.put(
                        chat_id, lambda m=message: self.carrier.carry_out(m), urgent=False
                    )
            elif isinstance(reply, ResultsChanged):
                self.refresher.changed(("poll", reply.poll_id))
            elif isinstance(reply, ProgressChanged):
                self.progress_changed(reply.campaign_id)
            elif isinstance(reply, Schedule) and self.timers is not None:
                self.timers.wake_at(reply.at, reply.run_id, reply.chat_id)
            elif isinstance(reply, ClosePollTimer) and self.timers is not None:
                self.timers.wake_at(reply.at)  # the due time itself is already a row

    async def _answer_tap(self, query_id: str, outcome: Outcome) -> None:
        text = (outcome.callback_text or "")[:MAX_ANSWER] or None
        try:
            await self.app.bot.answer_callback_query(
                query_id, text=text, show_alert=outcome.callback_alert
            )
        except Exception as exc:  # e.g. too old a query: Telegram forgot it; nothing to do
            if classify(exc) is None:
                raise
            log.info("callback answer refused: %s", exc)

    async def replies_sent(self, chat_id: int) -> None:
        """Return once the direct replies queued for `chat_id` went out and the message ids
        they gave are stored: the intake waits
        for this before the chat's next update, so that one sees the message ids (of the
        question on screen) the last one's replies produced. Bulk messages do not hold it,
        nor does a group (its 20 a minute would hold the intake's watermark for minutes),
        and no chat holds it longer than REPLY_WAIT seconds."""
        if chat_id < 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._replied(chat_id), REPLY_WAIT)

    async def _replied(self, chat_id: int) -> None:
        await self.outbound.wait_replies(chat_id)
        await self.carrier.learned.wait(chat_id)  # and the message ids they gave are stored

    # --- live results and campaign progress ----------------------------------------------
    def progress_changed(self, campaign_id: int) -> None:
        """A campaign's figures changed: refresh its progress message (coalesced)."""
        self.refresher.changed(("campaign", campaign_id))

    async def _refresh(self, key: Key) -> None:
        kind, ident = key
        if kind == "poll":
            edit = await self.conversation.live_results(ident)
            # A repeated tap changes no figure: an edit that repeats what the message shows
            # is refused by Telegram and would only use up the chat's budget.
            if edit is not None and self._shown.get(key) != edit:
                self._shown[key] = edit
                self.outbound.put(edit.chat_id, lambda: self.carrier.carry_out(edit), urgent=False)
        elif self.campaigns is not None:
            view = await self.campaigns.progress_view(ident)
            if view is not None:
                self.outbound.put(view[0], lambda: self._show_progress(ident, *view), urgent=False)

    async def _show_progress(self, campaign_id: int, chat_id: int, message_id, text: str):
        bot = self.app.bot
        if message_id is not None:
            await self.carrier.call(
                bot.edit_message_text, chat_id=chat_id, message_id=message_id, text=text
            )
            return
        message = await self.carrier.call(bot.send_message, chat_id=chat_id, text=text)
        if message is not None:
            await self.campaigns.remember_progress_message(campaign_id, message.message_id)

    async def restore_timers(self) -> None:
        """At start-up: what came due while the bot was down is handled now, ahead of any new
        update of the same chat. (Open polls' live results are edited with the next vote:
        an edit now could only repeat what they show, which Telegram refuses.)"""
        if self.timers is not None:
            await self.timers.catch_up()

    async def publish_commands(self) -> None:
        """Tell Telegram the command list in every language the bot speaks."""
        set_commands = self.app.bot.set_my_commands
        for locale in available_locales():
            commands = command_list(translator(locale))
            await self.carrier.call(set_commands, commands=commands, language_code=locale)
        await self.carrier.call(set_commands, commands=command_list(translator("en")))


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
