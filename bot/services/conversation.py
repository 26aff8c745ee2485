"""The interview use case: onboarding, running flows, pausing, going back, merging messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.i18n import LANGUAGE_NAMES, Translator, available_locales, negotiate, translator
from bot.services import callbacks, privacy, staff
from bot.services.campaign_chat import CampaignChat
from bot.services.catalog import FlowCatalog
from bot.services.context import STAFF_ROLES, Ctx
from bot.services.events import (
    AddedToGroup,
    Command,
    Edited,
    Event,
    GroupEvent,
    Tap,
    Text,
    Unreadable,
)
from bot.services.hints import hint
from bot.services.polls import (
    CODE_PATTERN,
    SESSION_PREFIX,
    PollDesk,
    answers_ballot,
    is_ballot,
)
from bot.services.replies import (
    ClearButtons,
    EditText,
    Keyboard,
    LeaveChat,
    Outcome,
    Person,
    ProgressChanged,
    Schedule,
    SendDocument,
    SendText,
    Typing,
)
from flows import engine
from flows.engine import Accepted, ButtonInput, PhotoInput, Prompt, Rejected, TextInput, Turn
from flows.model import Flow, StepType
from storage.models import (
    Campaign,
    Delivery,
    Identity,
    Participant,
    PollSession,
    Run,
    utcnow,
)
from storage.repo import Database, Repo

log = logging.getLogger(__name__)

# Bump when the privacy notice changes: everyone is asked again before their next flow.
NOTICE_VERSION = "2026-1"
STAFF_COMMANDS = ("grant", "revoke", "invite", "agecheck", "whoami")
POLL_COMMANDS = ("session", "poll", "close")
CAMPAIGN_COMMANDS = ("campaign", "campaigns", "group")
TRANSACTION_ATTEMPTS = 3
# A typed answer that ends like a sentence, or is this long, reads as finished: the merge
# window for more messages after it is a third of the full one.
FINISHED_MARKS = (".", "!", "?", "…", "。", "؟")
CLOSING_MARKS = "\"'»«“”„)] "
FINISHED_LENGTH = 80


class MediaStore(Protocol):
    """Downloads a file the person sent (voice note, photo) into MEDIA_DIR."""

    async def download(self, file_id: str, relative_path: str) -> bool:
        """Store the file under `relative_path`; False if it could not be fetched."""


class Conversation:
    """Handles one person's updates: one transaction each, replies only after commit."""

    def __init__(
        self,
        db: Database,
        catalog: FlowCatalog,
        *,
        default_locale: str = "de",
        timezone: str = "Europe/Berlin",
        text_merge_seconds: float = 3.0,
        media: MediaStore | None = None,
        clock: Callable[[], datetime] = utcnow,
        admin_ids: frozenset[int] = frozenset(),
        notice_version: str = NOTICE_VERSION,
        media_dir: Path = Path("data/media"),
        delete_mode: str = "erase",
    ) -> None:
        self.db = db
        self.admin_ids = frozenset(admin_ids)
        self.notice_version = notice_version
        self.media_dir = Path(media_dir)
        self.delete_mode = delete_mode
        self.polls = PollDesk(catalog.directory, clock)
        self.campaign_chat = CampaignChat(catalog, timezone, clock)
        self._bot_username = "backbone_bot"
        self.catalog = catalog
        self.default_locale = default_locale
        self.timezone = timezone
        self.merge_window = timedelta(seconds=text_merge_seconds)
        self.media = media
        self.clock = clock
        self._pinned: dict[int, Flow] = {}

    @property
    def bot_username(self) -> str:
        """The bot's @username (for deep links); set by the adapter once Telegram told it."""
        return self._bot_username

    @bot_username.setter
    def bot_username(self, value: str) -> None:
        self._bot_username = value
        self.polls.bot_username = value

    # --- entry points ----------------------------------------------------------------
    async def handle(self, update_id: int | None, person: Person, event: Event) -> Outcome:
        """Handle one update; a redelivered update id changes nothing and says nothing."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                async with self.db.transaction() as repo:
                    if update_id is not None and not await repo.claim_update(update_id):
                        log.info("update %s was handled before; ignored", update_id)
                        return Outcome(duplicate=True)
                    ctx = await self._context(repo, person)
                    await self._dispatch(ctx, event)
                break
            except (IntegrityError, OperationalError):
                # A concurrent transaction got there first (or the database hiccuped): the
                # whole update is rolled back, so running it again cannot record anything twice.
                if attempt == TRANSACTION_ATTEMPTS - 1:
                    raise
                log.warning("update %s: transaction conflict, retrying", update_id)
                await asyncio.sleep(0.05 * (attempt + 1))
        for run_id, step_id, file_id, path in ctx.downloads:
            await self._fetch_media(run_id, step_id, file_id, path)
        return ctx.out

    async def handle_group(self, update_id: int, person: Person, event: GroupEvent) -> Outcome:
        """A group event: stay only in groups staff added the bot to; staff commands only."""
        out = Outcome()
        async with self.db.transaction() as repo:
            if not await repo.claim_update(update_id):
                return Outcome(duplicate=True)
            # Look people up, never create them: group members have not consented to anything.
            identity = await repo.identity_by_telegram(person.telegram_user_id)
            role = identity.participant.role if identity else "participant"
            is_staff = person.telegram_user_id in self.admin_ids or role in STAFF_ROLES
            label = identity.participant.pseudonym if identity else "configured-admin"
            t = translator(negotiate(person.language_code, self.default_locale), self.timezone)
            chat_id = event.chat_id
            if isinstance(event, AddedToGroup):
                if is_staff:
                    await repo.add_staff_chat(chat_id, label)
                    await repo.audit(label, "bot_added_to_group", {})
                    out.replies.append(
                        SendText(chat_id, t.gettext("Hello! Staff added me to this group."))
                    )
                else:
                    out.replies.append(LeaveChat(chat_id))
                return out
            if not await repo.is_staff_chat(chat_id):
                out.replies.append(LeaveChat(chat_id))
            elif event.command and not is_staff:
                text = t.gettext("Sorry, this command is only for the backbone team.")
                out.replies.append(SendText(chat_id, text))
            elif event.command == "poll":
                return await self.polls.group_poll(repo, chat_id, label, event.args, t)
            elif event.command == "close":
                return await self.polls.group_close(repo, chat_id, t)
            elif event.command:
                text = t.gettext("Please use staff commands in a private chat with me.")
                out.replies.append(SendText(chat_id, text))
        return out

    async def handle_poll_answer(
        self, update_id: int, person: Person, native_poll_id: str, option_ids: list[int]
    ) -> Outcome:
        """A vote on a native group poll (empty option_ids: the vote was withdrawn)."""
        async with self.db.transaction() as repo:
            if not await repo.claim_update(update_id):
                return Outcome(duplicate=True)
            identity = await repo.identity_by_telegram(person.telegram_user_id)
            await self.polls.native_answer(
                repo,
                native_poll_id,
                person.telegram_user_id,
                option_ids,
                identity.participant_id if identity else None,
            )
        return Outcome()

    async def close_poll_due(self, poll_id: int) -> Outcome:
        """A poll's timer ran out: close it, once, however often this is called."""
        async with self.db.transaction() as repo:
            # The lock makes a second caller wait and then find the poll closed.
            if await repo.lock_poll(poll_id) is None:
                return Outcome()
            return await self.polls.close_due(repo, poll_id, self._staff_translator())

    async def live_results(self, poll_id: int) -> EditText | None:
        """The live results message of an open poll as it should look now."""
        async with self.db.transaction() as repo:
            return await self.polls.live_view(repo, poll_id, self._staff_translator())

    async def remember_results_message(self, poll_id: int, message_id: int) -> None:
        """Store the id of a poll's live results message."""
        async with self.db.transaction() as repo:
            await self.polls.remember_results_message(repo, poll_id, message_id)

    async def remember_native_poll(self, poll_id: int, native_id: str, message_id: int) -> None:
        """Store the Telegram ids of a native group poll."""
        async with self.db.transaction() as repo:
            await self.polls.remember_native(repo, poll_id, native_id, message_id)

    async def poll_timers(self) -> tuple[list, list[int]]:
        """Open polls' timers and ids (their live results are refreshed after a restart)."""
        async with self.db.transaction() as repo:
            return await self.polls.due_timers(repo), await self.polls.open_polls(repo)

    def _staff_translator(self) -> Translator:
        return translator(self.default_locale, self.timezone)

    async def settle_text(self, run_id: int) -> Outcome:
        """End of the merge window: take the collected text as the answer and go on."""
        async with self.db.transaction() as repo:
            # Locked and checked again: a second sweep, or a handler that settled first,
            # finds the window closed and does nothing.
            run = await repo.lock_run(run_id)
            if run is None or run.collect_until is None or run.status != "active":
                return Outcome()
            participant = await repo.participant(run.participant_id)
            await repo.session.refresh(participant, ["identity"])
            if participant.identity is None:
                run.collect_until = None  # nobody to ask the next question; stop looking
                return Outcome()
            ctx = self._ctx(repo, participant, participant.identity)
            if run.collect_until > self.clock():
                ctx.out.replies.append(Schedule(run.id, run.collect_until))
                return ctx.out
            await self._settle(ctx, run)
        return ctx.out

    async def pending_settles(self) -> list[Schedule]:
        """Merge windows still open in the database (rebuilt as timers on start-up)."""
        async with self.db.transaction() as repo:
            return [Schedule(r.id, r.collect_until) for r in await repo.runs_collecting()]

    async def due_timers(self) -> tuple[list, list]:
        """Merge windows and poll timers whose time has come, each with the chats it concerns:
        ([(run id, (chat id,))], [(poll id, (chat id, ...))])."""
        now = self.clock()
        async with self.db.transaction() as repo:
            runs = [(run_id, (chat,) if chat else ()) for run_id, chat in await repo.runs_due(now)]
            polls = [
                (poll_id, tuple(c for c in (results_chat, group_chat) if c))
                for poll_id, results_chat, group_chat in await repo.polls_due(now)
            ]
        return runs, polls

    async def remember_prompt(self, run_id: int, message_id: int) -> None:
        """Store the id of the message that shows a run's current question."""
        async with self.db.transaction() as repo:
            await repo.set_prompt_message(run_id, message_id)

    # --- context -----------------------------------------------------------------------
    async def _context(self, repo: Repo, person: Person) -> Ctx:
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
            identity.chat_id = person.chat_id
            identity.first_name = person.first_name or identity.first_name
            identity.username = person.username
            identity.language_code = person.language_code or identity.language_code
        return self._ctx(repo, identity.participant, identity)

    def _ctx(self, repo: Repo, participant: Participant, identity: Identity) -> Ctx:
        locale = participant.locale or negotiate(identity.language_code, self.default_locale)
        return Ctx(
            repo,
            participant,
            identity,
            translator(locale, self.timezone),
            configured_admin=identity.telegram_user_id in self.admin_ids,
        )

    def _flow(self, run: Run) -> Flow:
        flow = self._pinned.get(run.flow_version_id)
        if flow is None:
            flow = Flow.model_validate(run.flow_version.definition)
            self._pinned[run.flow_version_id] = flow
        return flow

    def _engine_ctx(self, ctx: Ctx) -> engine.Context:
        return engine.Context(
            locale=ctx.t.locale, first_name=ctx.identity.first_name, timezone=self.timezone
        )

    # --- dispatch ----------------------------------------------------------------------
    async def _dispatch(self, ctx: Ctx, event: Event) -> None:
        t = ctx.t
        if isinstance(event, Command):
            await self._command(ctx, event)
            return
        if isinstance(event, Edited):
            ctx.say(
                t.gettext(
                    "I only read new messages, not edits. Please send the corrected answer "
                    "as a new message, or use /back to change an earlier one."
                )
            )
            return
        if isinstance(event, Tap):
            await self._tap(ctx, event)
            return
        if isinstance(event, Unreadable):
            # Never stored: the person is asked again, and the question they are on stays.
            lead = t.gettext(
                "I could not read that message: some characters got broken on the way. "
                "Please type it again."
            )
            ready = ctx.participant.stage == "ready"
            run = await ctx.repo.open_run(ctx.participant.id) if ready else None
            if run is not None and run.status == "active":
                self._show_prompt(ctx, run, lead=lead)
                return
            ctx.say(lead)
            if not ready:
                await self._onboarding(ctx)
            return
        if isinstance(event, Text) and await self._poll_text(ctx, event):
            return
        run = await self._ready_run(ctx)
        if run is None:
            return
        if run.status == "paused":
            await self._resume(ctx, run)
            return
        inp = TextInput(event.text) if isinstance(event, Text) else event.input
        await self._answer(ctx, run, inp)

    async def _poll_text(self, ctx: Ctx, event: Text) -> bool:
        """A typed join code, or words for an open words poll; True if the text was that.
        While an interview is open (active or paused) text belongs to it, and words count
        for a poll only as an explicit reply to that poll's ballot."""
        text = event.text
        code = text.strip().upper()
        if CODE_PATTERN.match(code) and await self._session_open(ctx, code):
            if ctx.participant.stage != "ready":
                ctx.participant.pending_flow = SESSION_PREFIX + code
                await self._onboarding(ctx)
            else:
                await self.polls.join(ctx, code)
            return True
        if ctx.participant.stage != "ready":
            return False
        poll = await self.polls.words_poll_for(ctx, event.reply_to)
        replied = poll is not None and answers_ballot(poll, event.reply_to)
        if not replied and is_ballot(event.reply_to):
            # Meant for a poll, so never an interview answer; but no open poll takes it.
            ctx.say(
                ctx.t.gettext(
                    "That poll is closed or takes no written answers, so I did not store "
                    "your message."
                )
            )
            return True
        if poll is None:
            return False
        if not replied and await ctx.repo.open_run(ctx.participant.id) is not None:
            return False
        await self.polls.words_answer(ctx, poll, text)
        return True

    async def _session_open(self, ctx: Ctx, code: str) -> bool:
        return (
            await ctx.repo.session.scalar(
                select(PollSession.id).where(PollSession.code == code, PollSession.status == "open")
            )
            is not None
        )

    async def _ready_run(self, ctx: Ctx) -> Run | None:
        """The open run of an onboarded person; otherwise say what comes next and give None."""
        if ctx.participant.stage != "ready":
            await self._onboarding(ctx)
            return None
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is None:
            await self._offer_flows(ctx, ctx.t.gettext("There is no interview open for you."))
        return run

    async def _command(self, ctx: Ctx, cmd: Command) -> None:
        t = ctx.t
        name = cmd.name
        if name == "start":
            await self._start_command(ctx, cmd.args.strip())
            return
        if name == "help":
            ctx.say(help_text(t, ctx.role))
            return
        if name == "language":
            ctx.say(t.gettext("Which language would you like?"), language_buttons())
            return
        if name == "privacy":
            ctx.say(privacy_text(t, self.notice_version, full=True))
            return
        if name in STAFF_COMMANDS:
            await self._staff_command(ctx, name, cmd.args)
            return
        if name in CAMPAIGN_COMMANDS:
            if name == "campaign":
                await self.campaign_chat.campaign_command(ctx)
            elif name == "campaigns":
                await self.campaign_chat.list_command(ctx)
            else:
                await self.campaign_chat.group_command(ctx, cmd.args)
            return
        if name in POLL_COMMANDS:
            if name == "session":
                await self.polls.session_command(ctx, cmd.args)
            elif name == "poll":
                await self.polls.poll_command(ctx, cmd.args)
            else:
                await self.polls.close_command(ctx)
            return
        if name == "stop":
            ctx.participant.opted_out = True
            ctx.say(
                t.gettext(
                    "OK, you will get no more invitations or reminders. "
                    "Send /start if you want them again."
                )
            )
            return
        if name == "mydata":
            data = await privacy.personal_data(ctx.repo, ctx.participant.id)
            ctx.out.replies.append(
                SendDocument(
                    ctx.chat_id,
                    f"my-data-{ctx.participant.pseudonym}.json",
                    privacy.personal_data_json(data),
                    t.gettext("Everything we have stored about you."),
                )
            )
            return
        if name == "delete":
            ctx.say(
                t.gettext(
                    "Do you want us to delete your data — your answers, voice notes, photos "
                    "and the link to your Telegram account? This cannot be undone."
                ),
                [
                    [(t.gettext("🗑 Yes, delete my data"), callbacks.choice("x", "yes"))],
                    [(t.gettext("No, keep it"), callbacks.choice("x", "no"))],
                ],
            )
            return
        if name not in ("back", "pause", "resume", "cancel"):
            ctx.say(t.gettext("I don't know that command. /help lists what I understand."))
            return
        run = await self._ready_run(ctx)
        if run is None:
            return
        if name == "back":
            await self._back(ctx, run)
        elif name == "pause":
            await self._pause(ctx, run)
        elif name == "resume":
            await self._resume(ctx, run)
        else:
            await self._cancel(ctx, run)

    async def _staff_command(self, ctx: Ctx, name: str, args: str) -> None:
        now = self.clock()
        if name == "grant":
            await staff.grant(ctx, args, self.bot_username, now)
        elif name == "revoke":
            await staff.revoke(ctx, args, self.admin_ids, now)
        elif name == "invite":
            await staff.invite(ctx, args, self.bot_username, now)
        elif name == "agecheck":
            await staff.agecheck(ctx, args, now)
        else:
            await staff.whoami(ctx)

    async def _delete(self, ctx: Ctx, confirmed: bool) -> None:
        t = ctx.t
        if not confirmed:
            ctx.ack(t.gettext("Nothing was deleted."))
            ctx.say(t.gettext("Nothing was deleted."))
            return
        await privacy.erase_participant(
            ctx.repo, ctx.participant.id, self.media_dir, self.delete_mode
        )
        ctx.ack(t.gettext("Deleted."))
        ctx.say(
            t.gettext(
                "Your data has been deleted and you will get no more messages from us. "
                "If you write again, we start from the beginning."
            )
        )

    # --- onboarding --------------------------------------------------------------------
    async def _start_command(self, ctx: Ctx, payload: str) -> None:
        t = ctx.t
        p = ctx.participant
        # Writing to the bot means they can be reached again (403 was a block, now lifted).
        p.unreachable = False
        if p.opted_out:
            p.opted_out = False
            ctx.say(t.gettext("Invitations and reminders are switched on again."))
        if payload and await staff.redeem(ctx, payload, self.clock(), self.admin_ids):
            payload = ""
        if payload:
            p.pending_flow = payload[:64]
        if p.stage != "ready":
            name = ctx.identity.first_name
            greeting = t.gettext("Hello {name}!").format(name=name) if name else t.gettext("Hello!")
            ctx.say(
                greeting
                + " "
                + t.gettext(
                    "I am the alliance's interview bot. Your answers help schools, "
                    "employers and youth services make the move from school to work better."
                )
            )
            await self._onboarding(ctx)
            return
        if p.pending_flow and p.pending_flow.startswith(SESSION_PREFIX):
            await self._start_pending(ctx)
            return
        run = await ctx.repo.open_run(p.id)
        if run is not None:
            if payload and payload != run.flow_version.flow_id:
                ctx.say(
                    t.gettext(
                        "You are in the middle of another interview. Finish it first, "
                        "or stop it with /cancel."
                    )
                )
            await self._resume(ctx, run)
            return
        if p.pending_flow:
            await self._start_pending(ctx)
            return
        await self._offer_flows(ctx, t.gettext("Welcome back!"))

    async def _onboarding(self, ctx: Ctx) -> None:
        """Ask the next onboarding question: language first, then consent."""
        t = ctx.t
        p = ctx.participant
        if p.stage == "new":
            if p.locale is None and ctx.identity.language_code:
                negotiated = negotiate(ctx.identity.language_code, "")
                if negotiated == ctx.identity.language_code.split("-")[0].lower():
                    p.locale = negotiated
            p.stage = "consent" if p.locale else "language"
        if p.stage == "language":
            ctx.say(t.gettext("Which language would you like?"), language_buttons())
            return
        if await ctx.repo.has_consent(p.id, self.notice_version):
            p.stage = "ready"
            await self._start_pending(ctx)
            return
        if p.age_band == "under16":
            # Once under 16, always the under-16 path (also when a new notice is shown):
            # only parental consent on file or a staff correction (/agecheck) changes that.
            p.stage = "minor"
        if p.stage == "minor" and await self._parental_consent(ctx):
            return
        if p.stage == "minor":
            ctx.say(minor_text(t))
            return
        p.stage = "consent"
        version = self.notice_version
        ctx.say(
            privacy_text(t, version, full=False),
            [
                [
                    (
                        t.gettext("✅ I am 16 or older and agree"),
                        callbacks.choice("c", version + ":16"),
                    )
                ],
                [(t.gettext("I am under 16"), callbacks.choice("c", version + ":u16"))],
            ],
        )

    async def _parental_consent(self, ctx: Ctx) -> bool:
        """Under 16: go ahead only if a parent's consent is on file for one of their groups."""
        p = ctx.participant
        # Only while the admin who confirmed it is still an admin.
        on_file = await ctx.repo.parental_consent_on_file(p.id, self.admin_ids)
        if on_file is None:
            return False
        group, link = on_file
        await ctx.repo.add_consent(
            p.id,
            self.notice_version,
            ctx.t.locale,
            "parent",
            age_band="under16",
            confirmed_by=link.created_by,
            group_id=group.id,
        )
        p.stage = "ready"
        ctx.say(
            ctx.t.gettext(
                "Your school has your parents' consent on file. Welcome — you can take part!"
            )
        )
        await self._start_pending(ctx)
        return True

    async def _set_locale(self, ctx: Ctx, locale: str) -> None:
        ctx.participant.locale = locale
        ctx.t = translator(locale, self.timezone)
        ctx.ack(LANGUAGE_NAMES.get(locale, locale))
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is not None:
            run.locale = locale
        if ctx.participant.stage == "language":
            ctx.participant.stage = "consent"
        if ctx.participant.stage != "ready":
            await self._onboarding(ctx)
            return
        ctx.say(ctx.t.gettext("OK, I will write in English from now on."))
        if run is not None and run.status == "active":
            self._show_prompt(ctx, run)

    async def _consent(self, ctx: Ctx, value: str) -> None:
        t = ctx.t
        p = ctx.participant
        version, _, band = value.rpartition(":")
        if version != self.notice_version or band not in ("16", "u16"):
            ctx.ack(t.gettext("This notice is out of date."))
            await self._onboarding(ctx)
            return
        if await ctx.repo.has_consent(p.id, self.notice_version):
            ctx.ack(t.gettext("Thank you!"))
            return
        if band == "u16":
            ctx.ack()
            p.age_band = "under16"
            p.stage = "minor"
            if not await self._parental_consent(ctx):
                ctx.say(minor_text(t))
            return
        if p.age_band == "under16":
            # The 16+ button after saying under 16 (the same notice or a later one): refused.
            await ctx.repo.audit(p.pseudonym, "age_gate_refused", {"notice_version": version})
            ctx.ack()
            ctx.say(minor_text(t))
            return
        p.age_band = "16plus"
        await ctx.repo.add_consent(p.id, self.notice_version, t.locale, age_band="16plus")
        ctx.ack(t.gettext("Thank you!"))
        p.stage = "ready"
        await self._start_pending(ctx)

    async def _start_pending(self, ctx: Ctx) -> None:
        pending = ctx.participant.pending_flow
        ctx.participant.pending_flow = None
        if pending and pending.startswith(SESSION_PREFIX):
            await self.polls.join(ctx, pending.removeprefix(SESSION_PREFIX))
        elif pending and self.catalog.get(pending) is not None:
            await self._start_flow(ctx, pending)
        else:
            await self._offer_flows(ctx, ctx.t.gettext("Thank you! You can start now."))

    async def _offer_flows(self, ctx: Ctx, lead: str) -> None:
        t = ctx.t
        flows = self.catalog.all()
        if not flows:
            ctx.say(lead + "\n\n" + t.gettext("There is nothing to answer right now."))
            return
        buttons = [[(f.text("title", t.locale), callbacks.choice("f", f.id))] for f in flows]
        ctx.say(lead + "\n\n" + t.gettext("What would you like to start?"), buttons)

    # --- buttons -----------------------------------------------------------------------
    async def _tap(self, ctx: Ctx, tap: Tap) -> None:
        t = ctx.t
        parsed = callbacks.parse(tap.data)
        if parsed is None:
            ctx.ack(t.gettext("This button does not work."), alert=True)
            return
        if isinstance(parsed, callbacks.Choice):
            if parsed.kind == "l" and parsed.value in available_locales():
                await self._set_locale(ctx, parsed.value)
            elif parsed.kind == "c":
                await self._consent(ctx, parsed.value)
            elif parsed.kind == "x" and parsed.value in ("yes", "no"):
                await self._delete(ctx, parsed.value == "yes")
            elif parsed.kind == "v" and ctx.participant.stage == "ready":
                await self.polls.vote_tap(ctx, *parsed.args)
            elif parsed.kind in ("k", "n"):
                await self.polls.staff_tap(ctx, parsed.kind, *parsed.args)
            elif parsed.kind == "w":
                await self.campaign_chat.tap(ctx, parsed.args, tap.message_id)
            elif parsed.kind == "g":
                await self._campaign_start(ctx, *parsed.args)
            elif parsed.kind == "f" and ctx.participant.stage == "ready":
                ctx.ack()
                await self._start_flow(ctx, parsed.value)
            elif parsed.kind == "f":
                ctx.participant.pending_flow = parsed.value
                ctx.ack()
                await self._onboarding(ctx)
            else:
                ctx.ack(t.gettext("This button does not work."), alert=True)
            return
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is None or run.id != parsed.run_id:
            ctx.ack(t.gettext("This button belongs to an interview that is over."))
            if run is not None:
                self._show_prompt(ctx, run)
            return
        if run.status == "paused":
            run.status = "active"
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        current = flow.index(state.current) if state.current else -1
        if parsed.step_index != current:
            ctx.ack(t.gettext("That button belongs to an earlier question."))
            self._show_prompt(
                ctx, run, lead=t.gettext("That button belongs to an earlier question.")
            )
            return
        await self._answer(ctx, run, ButtonInput(parsed.action), tap=True)

    # --- answering ---------------------------------------------------------------------
    async def _answer(self, ctx: Ctx, run: Run, inp: Any, tap: bool = False) -> None:
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        ectx = self._engine_ctx(ctx)
        step = flow.step(state.current) if state.current else None
        # While short messages are being collected, everything still concerns the question
        # the person sees: more text joins the answer, its skip button ends the collecting,
        # anything else gets that question's hint — never the next question, not shown yet.
        collecting = run.collect_until is not None
        if collecting and isinstance(inp, ButtonInput) and inp.action == "skip":
            # Skip after typing reads as "that's my answer, go on": keep what they wrote.
            if tap:
                ctx.ack("✓")
            await self._settle(ctx, run)
            return
        if collecting and isinstance(inp, TextInput):
            previous = await ctx.repo.answer(run.id, step.id)
            if previous is not None and isinstance(previous.value, str):
                inp = TextInput(previous.value + "\n" + inp.text)
        result = engine.accept(flow, state, inp, ectx)
        if isinstance(result, Rejected):
            if tap:
                ctx.ack(hint(result, ctx.t))
            lead = self._reprompt(result, ctx.t)
            if collecting:
                lead += "\n" + ctx.t.gettext("I kept what you wrote before.")
            self._show_prompt(ctx, run, lead=lead)
            return
        if isinstance(inp, ButtonInput) and inp.action.startswith("tog:"):
            state = engine.toggle(flow, state, inp.action.removeprefix("tog:"))
            run.state = state.to_dict()
            ctx.ack("✓")
            prompt = engine.prompt(flow, state, ectx)
            if run.prompt_message_id and prompt is not None:
                ctx.out.replies.append(
                    EditText(
                        ctx.chat_id, run.prompt_message_id, prompt.text, self._keys(run, prompt)
                    )
                )
            else:
                self._show_prompt(ctx, run)
            return
        if tap:
            ctx.ack("✓")
        run.collect_until = None
        if step.type == StepType.TEXT and result.value is not None and self.merge_window:
            # Keep the question open a few seconds: short follow-up messages join the answer.
            await ctx.repo.save_answer(
                run.id,
                step.id,
                result.value,
                False,
                self._wording(ctx, flow, state),
                ctx.t.locale,
                self.clock(),
            )
            run.collect_until = self.clock() + self._window_after(result.value)
            ctx.out.replies.append(Typing(ctx.chat_id))
            ctx.out.replies.append(Schedule(run.id, run.collect_until))
            return
        if step.type in (StepType.VOICE, StepType.PHOTO) and isinstance(result.value, dict):
            ext = "jpg" if isinstance(inp, PhotoInput) else "ogg"
            path = f"{ctx.participant.pseudonym}/run{run.id}-{step.id}.{ext}"
            result = Accepted({**result.value, "path": None})
            ctx.downloads.append((run.id, step.id, result.value["file_id"], path))
        turn = engine.submit(flow, state, result.value, ectx)
        await self._apply(ctx, run, turn, self._wording(ctx, flow, state))

    def _window_after(self, text: str) -> timedelta:
        """How long to wait for more messages after `text`: briefly after an answer that
        reads as finished (sentence punctuation at the end, or long), fully after fragments."""
        stripped = text.rstrip().rstrip(CLOSING_MARKS)
        if stripped.endswith(FINISHED_MARKS) or len(stripped) >= FINISHED_LENGTH:
            return self.merge_window / 3
        return self.merge_window

    def _wording(self, ctx: Ctx, flow: Flow, state: engine.RunState) -> str:
        """The current question as stored with its answer: exact, but with the name masked
        (answers must stay free of identity once the identity link is deleted)."""
        masked = engine.Context(
            locale=ctx.t.locale, first_name="{first_name}", timezone=self.timezone
        )
        prompt = engine.prompt(flow, state, masked)
        return prompt.text if prompt is not None else ""

    def _reprompt(self, rejected: Rejected, t: Translator) -> str:
        # The flow's own reprompt (rendered by the engine) is friendlier than the generic
        # hint, except where the hint carries the number the person needs (the limit).
        reprompt = (rejected.params or {}).get("reprompt")
        if reprompt and rejected.reason != "too_long":
            return reprompt
        return hint(rejected, t)

    async def _settle(self, ctx: Ctx, run: Run) -> None:
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        run.collect_until = None
        answer = await ctx.repo.answer(run.id, state.current) if state.current else None
        if answer is None:
            return
        turn = engine.submit(flow, state, answer.value, self._engine_ctx(ctx))
        await self._apply(ctx, run, turn, self._wording(ctx, flow, state))

    async def _apply(self, ctx: Ctx, run: Run, turn: Turn, wording: str | None = None) -> None:
        """Persist a turn's answers (with `wording`, the question as shown) and state, then
        queue what the person sees next."""
        now = self.clock()
        for step_id in turn.cleared:
            # The person changed an earlier answer and this step is no longer on their path.
            await ctx.repo.delete_answer(run.id, step_id)
        for rec in turn.recorded:
            shown = wording if wording is not None else rec.shown_text
            await ctx.repo.save_answer(
                run.id, rec.step_id, rec.value, rec.skipped, shown, ctx.t.locale, now
            )
        run.state = turn.state.to_dict()
        run.locale = ctx.t.locale
        if run.prompt_message_id:
            ctx.out.replies.append(ClearButtons(ctx.chat_id, run.prompt_message_id))
            run.prompt_message_id = None
        for text in turn.messages:
            ctx.say(text)
        if turn.finished:
            run.status = "complete"
            run.finished_at = now
            if run.campaign_id is not None:
                ctx.out.replies.append(ProgressChanged(run.campaign_id))
            ctx.say(
                ctx.t.gettext(
                    "That was the last question. Thank you, your answers are saved! "
                    "/start shows what else there is."
                )
            )
            return
        if turn.prompt is not None:
            self._say_prompt(ctx, run, turn.prompt, turn.prompt.text)

    def _keys(self, run: Run, prompt: Prompt) -> Keyboard | None:
        if not prompt.buttons:
            return None
        return [
            [(b.label, callbacks.run_button(run.id, prompt.step_index, b.action)) for b in row]
            for row in prompt.buttons
        ]

    def _show_prompt(self, ctx: Ctx, run: Run, lead: str | None = None) -> None:
        """(Re)send the current question, optionally after a hint, as one message."""
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        prompt = engine.prompt(flow, state, self._engine_ctx(ctx))
        if prompt is None:
            return
        text = f"{lead}\n\n{prompt.text}" if lead else prompt.text
        self._say_prompt(ctx, run, prompt, text)

    def _say_prompt(self, ctx: Ctx, run: Run, prompt: Prompt, text: str) -> None:
        keys = self._keys(run, prompt)
        # Only a question with buttons is remembered: its buttons get edited or cleared later.
        ctx.say(text, keys, run.id if keys else None)

    # --- run commands ------------------------------------------------------------------
    async def _campaign_start(self, ctx: Ctx, campaign_id: int) -> None:
        """The start button of an invitation or reminder."""
        t = ctx.t
        campaign = await ctx.repo.session.get(Campaign, campaign_id)
        invited = campaign is not None and await ctx.repo.session.scalar(
            select(Delivery.id)
            .where(
                Delivery.campaign_id == campaign.id, Delivery.participant_id == ctx.participant.id
            )
            .limit(1)
        )
        if not invited:
            ctx.ack(t.gettext("This button does not work."), alert=True)
            return
        if campaign.status not in ("running", "paused") or self.clock() > campaign.deadline:
            ctx.ack(t.gettext("This invitation has expired. Thank you anyway!"), alert=True)
            return
        ctx.ack()
        if ctx.participant.stage != "ready":
            ctx.participant.pending_flow = campaign.flow_id
            await self._onboarding(ctx)
            return
        await self._start_flow(ctx, campaign.flow_id, campaign_id=campaign.id)

    async def _start_flow(self, ctx: Ctx, flow_id: str, campaign_id: int | None = None) -> None:
        t = ctx.t
        flow = self.catalog.get(flow_id)
        if flow is None:
            await self._offer_flows(ctx, t.gettext("I don't know this interview."))
            return
        if not await ctx.repo.has_consent(ctx.participant.id, self.notice_version):
            # The privacy notice changed since they agreed: ask again before a new flow.
            ctx.participant.pending_flow = flow_id
            ctx.participant.stage = "consent"
            ctx.say(t.gettext("Our privacy notice has changed. Please read it again."))
            await self._onboarding(ctx)
            return
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is not None:
            if run.flow_version.flow_id != flow_id:
                ctx.say(
                    t.gettext(
                        "You are in the middle of another interview. Finish it first, "
                        "or stop it with /cancel."
                    )
                )
            await self._resume(ctx, run)
            return
        version = await ctx.repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
        # A new campaign wave may ask the same flow again; otherwise once per version.
        done = (
            await ctx.repo.completed_run_in_campaign(ctx.participant.id, campaign_id)
            if campaign_id is not None
            else await ctx.repo.completed_run(ctx.participant.id, version.id)
        )
        if done is not None:
            ctx.say(t.gettext("You have already answered this one. Thank you!"))
            return
        self._pinned.setdefault(version.id, flow)
        turn = engine.start(flow, self._engine_ctx(ctx))
        run = await ctx.repo.add_run(
            ctx.participant.id, version.id, ctx.t.locale, turn.state.to_dict()
        )
        run.campaign_id = campaign_id
        if campaign_id is not None:
            ctx.out.replies.append(ProgressChanged(campaign_id))
        await ctx.repo.session.refresh(run, ["flow_version"])
        ctx.say(
            t.gettext(
                "“{title}” starts now. You can pause any time with /pause, go back with "
                "/back, and stop with /cancel."
            ).format(title=flow.text("title", t.locale))
        )
        await self._apply(ctx, run, turn)

    async def _back(self, ctx: Ctx, run: Run) -> None:
        if run.collect_until is not None:
            await self._settle(ctx, run)
            if run.status != "active":
                return
        run.status = "active"
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        if not state.history:
            self._show_prompt(ctx, run, lead=ctx.t.gettext("This is the first question."))
            return
        turn = engine.back(flow, state, self._engine_ctx(ctx))
        await self._apply(ctx, run, turn)

    async def _pause(self, ctx: Ctx, run: Run) -> None:
        if run.collect_until is not None:
            await self._settle(ctx, run)
            if run.status != "active":
                return
        run.status = "paused"
        if run.prompt_message_id:
            ctx.out.replies.append(ClearButtons(ctx.chat_id, run.prompt_message_id))
            run.prompt_message_id = None
        ctx.say(
            ctx.t.gettext(
                "Paused. Your answers are saved. Send /resume or any message when you "
                "want to go on — also in a few days."
            )
        )

    async def _resume(self, ctx: Ctx, run: Run) -> None:
        run.status = "active"
        lead = ctx.t.gettext(
            "Welcome back! Your answers up to {when} are saved. Here is where you left off:"
        ).format(when=ctx.t.datetime(run.updated_at))
        self._show_prompt(ctx, run, lead=lead)

    async def _cancel(self, ctx: Ctx, run: Run) -> None:
        run.status = "incomplete"
        run.collect_until = None
        run.finished_at = self.clock()
        if run.prompt_message_id:
            ctx.out.replies.append(ClearButtons(ctx.chat_id, run.prompt_message_id))
            run.prompt_message_id = None
        ctx.say(
            ctx.t.gettext(
                "Stopped. The answers you gave so far are kept. /start shows what you can do next."
            )
        )

    # --- media -------------------------------------------------------------------------
    async def _fetch_media(self, run_id: int, step_id: str, file_id: str, path: str) -> None:
        if self.media is None:
            return
        try:
            ok = await self.media.download(file_id, path)
        except Exception:  # the answer (file id) is stored; the file can be fetched later
            log.exception("could not download %s", path)
            return
        if not ok:
            return
        async with self.db.transaction() as repo:
            answer = await repo.answer(run_id, step_id)
            value = answer.value if answer is not None else None
            if isinstance(value, dict) and value.get("file_id") == file_id:
                answer.value = {**value, "path": path}


def language_buttons() -> Keyboard:
    """One button per language the bot speaks."""
    return [
        [(LANGUAGE_NAMES.get(loc, loc), callbacks.choice("l", loc))] for loc in available_locales()
    ]


def help_text(t: Translator, role: str = "participant") -> str:
    """The commands, explained in the person's language (staff see theirs too)."""
    lines = [
        t.gettext("What I understand:"),
        t.gettext("/start – start or continue an interview"),
        t.gettext("/back – go back to the previous question and change your answer"),
        t.gettext("/pause – take a break (send any message to go on)"),
        t.gettext("/resume – continue where you left off"),
        t.gettext("/cancel – stop the interview (your answers so far are kept)"),
        t.gettext("/language – choose another language"),
        t.gettext("/privacy – what happens with your answers"),
        t.gettext("/mydata – get everything we stored about you"),
        t.gettext("/delete – delete your data"),
        t.gettext("/stop – no more invitations or reminders"),
        t.gettext("/help – this list"),
    ]
    if role in STAFF_ROLES:
        lines += [
            "",
            t.gettext("For the backbone team:"),
            t.gettext("/whoami – your code name and role"),
        ]
    if role == "admin":
        lines += [
            t.gettext("/grant facilitator|admin – a one-time link that gives a role"),
            t.gettext("/revoke P-XXXXXX – take a role away"),
            t.gettext("/agecheck P-XXXXXX 16plus|under16 – correct a person's age"),
            t.gettext("/invite <group> [--parental-consent-on-file] – a link to join a group"),
        ]
    return "\n".join(lines)


def minor_text(t: Translator) -> str:
    """The kind explanation for under-16s without parental consent on file."""
    return t.gettext(
        "Thank you for wanting to take part! Because you are under 16, we need your "
        "parents' consent first. Your school or youth worker has a special link for your "
        "class — once you have joined through it, send /start again."
    )


def privacy_text(t: Translator, version: str, full: bool) -> str:
    """The privacy notice: short on first contact, full on /privacy."""
    short = t.gettext(
        "Before we start: your answers are stored under a code name (pseudonym), not your "
        "Telegram name or number. The team that runs the alliance uses them to improve "
        "support for young people. Taking part is voluntary; you can skip questions, stop "
        "any time with /cancel, and ask us to delete your data."
    )
    if not full:
        return short + "\n\n" + t.gettext("The full notice: /privacy")
    return (
        short
        + "\n\n"
        + t.gettext(
            "What we store: your answers (texts, choices, voice notes, photos), when you "
            "gave them and the exact question you saw; your language; your consent. "
            "The link between your Telegram account and your code name is kept separately "
            "and is deleted when the data set is anonymised. Exports for analysis contain "
            "only the code name, never your Telegram name, username or phone number."
        )
        + "\n\n"
        + t.gettext("Notice version: {version}").format(version=version)
    )
