"""The dispatcher: one transaction per update, retry, duplicate claim, the onboarding gate,
and routing to the routers that registered commands, payload types and text hooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.i18n import negotiate, translator
from bot.services import callbacks
from bot.services.context import STAFF_ROLES, Config, Ctx
from bot.services.events import AddedToGroup, Command, Event, GroupEvent, Tap, Text
from bot.services.replies import EditText, LeaveChat, Outcome, Schedule, SendText
from storage import people
from storage.models import Identity, Participant
from storage.repo import Database, Repo
from storage.statuses import RunStatus, Stage

log = logging.getLogger(__name__)

TRANSACTION_ATTEMPTS = 3
Handler = Callable[..., Awaitable[Any]]


class InterviewJobs(Protocol):
    """What the interviews router does outside a person's update (merge windows, media)."""

    async def settle_due(self, ctx: Ctx, run) -> None:
        """End a run's merge window if it is due (the run is locked by the caller)."""

    async def fetch_media(self, run_id: int, step_id: str, file_id: str, path: str) -> None:
        """Download a file the person sent, after the answer was committed."""


class PollJobs(Protocol):
    """What the polls router does outside a person's update (timers, live results)."""

    async def close_due(self, repo: Repo, poll_id: int) -> Outcome: ...
    async def live_view(self, repo: Repo, poll_id: int) -> EditText | None: ...
    async def remember_results_message(self, repo: Repo, poll_id: int, message_id: int): ...
    async def remember_native(self, repo: Repo, poll_id: int, native_id: str, message_id: int): ...
    async def timers(self, repo: Repo) -> tuple[list, list[int]]: ...
    async def native_answer(self, repo: Repo, native_id: str, user_id: int, options, who): ...


class Dispatcher:
    """Handles one person's updates: one transaction each, replies only after commit."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self.default_locale = config.default_locale
        self.notice_version = config.notice_version
        self._commands: dict[str, tuple[Handler, bool]] = {}
        self._payloads: dict[type, Handler] = {}
        self._events: dict[type, tuple[Handler, bool]] = {}
        self._links: dict[type, Handler] = {}
        self._group_commands: dict[str, Handler] = {}
        self._text_hooks: list[Handler] = []
        self._gate: Handler | None = None
        self._username_listeners: list[Callable[[str], None]] = []
        self._bot_username = "backbone_bot"
        self.interviews: InterviewJobs | None = None
        self.polls: PollJobs | None = None

    # --- registration ----------------------------------------------------------------
    def command(self, names: tuple[str, ...], handler: Handler, ready: bool = False) -> None:
        """`handler(ctx, args)` answers /name; with `ready`, only after onboarding."""
        for name in names:
            self._commands[name] = (handler, ready)

    def payload(self, cls: type, handler: Handler) -> None:
        """`handler(ctx, payload, tap)` answers taps on buttons of payload class `cls`."""
        self._payloads[cls] = handler

    def event(self, cls: type, handler: Handler, ready: bool = False) -> None:
        """`handler(ctx, event)` answers an event of `cls` no text hook or command took."""
        self._events[cls] = (handler, ready)

    def text_hook(self, hook: Handler) -> None:
        """`hook(ctx, text) -> bool` sees typed text first (in registration order)."""
        self._text_hooks.append(hook)

    def link(self, cls: type, handler: Handler) -> None:
        """`handler(ctx, link)` opens a deep link of class `cls` (see `callbacks.decode_start`)."""
        self._links[cls] = handler

    def group_command(self, name: str, handler: Handler) -> None:
        """`handler(repo, chat_id, staff label, args, t) -> Outcome` in staff groups."""
        self._group_commands[name] = handler

    def gate(self, handler: Handler) -> None:
        """`handler(ctx)` asks the next onboarding question of a person not ready yet."""
        self._gate = handler

    def on_username(self, listener: Callable[[str], None]) -> None:
        """Be told the bot's @username once the adapter knows it."""
        self._username_listeners.append(listener)
        listener(self._bot_username)

    @property
    def bot_username(self) -> str:
        """The bot's @username (for deep links); set by the adapter once Telegram told it."""
        return self._bot_username

    @bot_username.setter
    def bot_username(self, value: str) -> None:
        self._bot_username = value
        for listener in self._username_listeners:
            listener(value)

    # --- updates ---------------------------------------------------------------------
    async def handle(self, update_id: int | None, person, event: Event) -> Outcome:
        """Handle one update; a redelivered update id changes nothing and says nothing."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                async with self.db.transaction() as repo:
                    if update_id is not None and not await repo.claim_update(update_id):
                        log.info("update %s was handled before; ignored", update_id)
                        return Outcome(duplicate=True)
                    ctx = await self._context(repo, person)
                    await self.route(ctx, event)
                break
            except people.TRANSACTION_CONFLICTS:
                # A concurrent transaction got there first (or the database hiccuped): the
                # whole update is rolled back, so running it again cannot record anything twice.
                if attempt == TRANSACTION_ATTEMPTS - 1:
                    raise
                log.warning("update %s: transaction conflict, retrying", update_id)
                await asyncio.sleep(0.05 * (attempt + 1))
        if self.interviews is not None:
            for download in ctx.downloads:
                await self.interviews.fetch_media(*download)
        return ctx.out

    async def route(self, ctx: Ctx, event: Event) -> None:
        """Hand the event to the router that registered for it."""
        if isinstance(event, Command):
            entry = self._commands.get(event.name)
            if entry is None:
                ctx.say(ctx.t.gettext("I don't know that command. /help lists what I understand."))
            elif await self.ready(ctx, entry[1]):
                await entry[0](ctx, event.args)
            return
        if isinstance(event, Tap):
            await self._tap(ctx, event)
            return
        if isinstance(event, Text):
            for hook in self._text_hooks:
                if await hook(ctx, event):
                    return
        entry = self._events.get(type(event))
        if entry is not None and await self.ready(ctx, entry[1]):
            await entry[0](ctx, event)

    async def ready(self, ctx: Ctx, required: bool = True) -> bool:
        """The onboarding gate: True if the person may go on; otherwise ask what comes next."""
        if not required or ctx.participant.stage == Stage.READY:
            return True
        await self.onboard(ctx)
        return False

    async def onboard(self, ctx: Ctx) -> None:
        """Ask the next onboarding question (language, consent)."""
        if self._gate is not None:
            await self._gate(ctx)

    async def _tap(self, ctx: Ctx, tap: Tap) -> None:
        payload = callbacks.decode(tap.data)
        handler = self._payloads.get(type(payload)) if payload is not None else None
        if handler is None:
            ctx.ack(ctx.t.gettext("This button does not work."), alert=True)
            return
        await handler(ctx, payload, tap)

    async def open_link(self, ctx: Ctx, link: callbacks.StartPayload) -> bool:
        """Open a deep link (or a remembered one); False if no router takes its kind."""
        handler = self._links.get(type(link))
        if handler is None:
            return False
        await handler(ctx, link)
        return True

    async def start_pending(self, ctx: Ctx, fallback: Handler) -> None:
        """After onboarding: open the link the person came with, else call `fallback(ctx)`."""
        link = callbacks.decode_start(ctx.participant.pending_flow)
        ctx.participant.pending_flow = None
        if link is None or not await self.open_link(ctx, link):
            await fallback(ctx)

    # --- groups and native polls -----------------------------------------------------
    async def handle_group(self, update_id: int, person, event: GroupEvent) -> Outcome:
        """A group event: stay only in groups staff added the bot to; staff commands only."""
        out = Outcome()
        async with self.db.transaction() as repo:
            if not await repo.claim_update(update_id):
                return Outcome(duplicate=True)
            # Look people up, never create them: group members have not consented to anything.
            identity = await repo.identity_by_telegram(person.telegram_user_id)
            role = identity.participant.role if identity else "participant"
            is_staff = person.telegram_user_id in self.config.admin_ids or role in STAFF_ROLES
            label = identity.participant.pseudonym if identity else "configured-admin"
            t = translator(negotiate(person.language_code, self.default_locale), self._tz)
            chat_id = event.chat_id
            if isinstance(event, AddedToGroup):
                if is_staff:
                    await repo.add_staff_chat(chat_id, label)
                    await repo.audit(label, "bot_added_to_group", {})
                    text = t.gettext("Hello! Staff added me to this group.")
                    out.replies.append(SendText(chat_id, text))
                else:
                    out.replies.append(LeaveChat(chat_id))
                return out
            handler = self._group_commands.get(event.command or "")
            if not await repo.is_staff_chat(chat_id):
                out.replies.append(LeaveChat(chat_id))
            elif event.command and not is_staff:
                text = t.gettext("Sorry, this command is only for the backbone team.")
                out.replies.append(SendText(chat_id, text))
            elif handler is not None:
                return await handler(repo, chat_id, label, event.args, t)
            elif event.command:
                text = t.gettext("Please use staff commands in a private chat with me.")
                out.replies.append(SendText(chat_id, text))
        return out

    async def handle_poll_answer(
        self, update_id: int, person, native_poll_id: str, option_ids: list[int]
    ) -> Outcome:
        """A vote on a native group poll (empty option_ids: the vote was withdrawn)."""
        async with self.db.transaction() as repo:
            if not await repo.claim_update(update_id):
                return Outcome(duplicate=True)
            identity = await repo.identity_by_telegram(person.telegram_user_id)
            who = identity.participant_id if identity else None
            await self.polls.native_answer(
                repo, native_poll_id, person.telegram_user_id, option_ids, who
            )
        return Outcome()

    # --- timers and what the adapter learns after sending ----------------------------
    async def close_poll_due(self, poll_id: int) -> Outcome:
        """A poll's timer ran out: close it, once, however often this is called."""
        async with self.db.transaction() as repo:
            return await self.polls.close_due(repo, poll_id)

    async def live_results(self, poll_id: int) -> EditText | None:
        """The live results message of an open poll as it should look now."""
        async with self.db.transaction() as repo:
            return await self.polls.live_view(repo, poll_id)

    async def remember_messages(
        self, prompts: list[tuple[int, int]], results: list[tuple[int, int]] = ()
    ) -> None:
        """Store, in one transaction, the ids of messages that show a run's current question
        ((run id, message id)) and of polls' live results ((poll id, message id))."""
        async with self.db.transaction() as repo:
            for run_id, message_id in prompts:
                await repo.set_prompt_message(run_id, message_id)
            for poll_id, message_id in results:
                await self.polls.remember_results_message(repo, poll_id, message_id)

    async def remember_native_poll(self, poll_id: int, native_id: str, message_id: int) -> None:
        """Store the Telegram ids of a native group poll."""
        async with self.db.transaction() as repo:
            await self.polls.remember_native(repo, poll_id, native_id, message_id)

    async def poll_timers(self) -> tuple[list, list[int]]:
        """Open polls' timers and ids (their live results are refreshed after a restart)."""
        async with self.db.transaction() as repo:
            return await self.polls.timers(repo)

    async def settle_text(self, run_id: int) -> Outcome:
        """End of the merge window: take the collected text as the answer and go on."""
        async with self.db.transaction() as repo:
            # Locked and checked again: a second sweep, or a handler that settled first,
            # finds the window closed and does nothing.
            run, identity = await repo.lock_run(run_id)  # identity with its participant
            if run is None or run.collect_until is None or run.status != RunStatus.ACTIVE:
                return Outcome()
            if identity is None:
                run.collect_until = None  # nobody to ask the next question; stop looking
                return Outcome()
            ctx = self.ctx_for(repo, identity.participant, identity)
            await self.interviews.settle_due(ctx, run)
        return ctx.out

    async def pending_settles(self) -> list[Schedule]:
        """Merge windows still open in the database (rebuilt as timers on start-up)."""
        async with self.db.transaction() as repo:
            return [Schedule(r.id, r.collect_until) for r in await repo.runs_collecting()]

    async def due_timers(self) -> tuple[list, list]:
        """Merge windows and poll timers whose time has come, each with the chats it concerns:
        ([(run id, (chat id,))], [(poll id, (chat id, ...))])."""
        now = self.config.clock()
        async with self.db.transaction() as repo:
            runs = [(run_id, (chat,) if chat else ()) for run_id, chat in await repo.runs_due(now)]
            polls = [
                (poll_id, tuple(c for c in (results_chat, group_chat) if c))
                for poll_id, results_chat, group_chat in await repo.polls_due(now)
            ]
        return runs, polls

    # --- context ---------------------------------------------------------------------
    @property
    def _tz(self) -> str:
        return self.config.timezone

    async def _context(self, repo: Repo, person) -> Ctx:
        identity = await repo.identity_by_telegram(person.telegram_user_id)
        if identity is None:
            identity = await repo.add_participant(
                person.telegram_user_id,
                person.chat_id,
                person.first_name,
                person.username,
                person.language_code,
            )
        else:
            # Assign only what changed: a mere assignment makes the identity dirty, and every
            # later query of the transaction would flush it first.
            fresh = {
                "chat_id": person.chat_id,
                "first_name": person.first_name or identity.first_name,
                "username": person.username,
                "language_code": person.language_code or identity.language_code,
            }
            for name, value in fresh.items():
                if getattr(identity, name) != value:
                    setattr(identity, name, value)
        return self.ctx_for(repo, identity.participant, identity)

    def ctx_for(self, repo: Repo, participant: Participant, identity: Identity) -> Ctx:
        """The context of one person's work inside `repo`'s transaction."""
        locale = participant.locale or negotiate(identity.language_code, self.default_locale)
        return Ctx(
            repo,
            participant,
            identity,
            translator(locale, self._tz),
            configured_admin=identity.telegram_user_id in self.config.admin_ids,
        )
