"""The interview use case: onboarding, running flows, pausing, going back, merging messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError, OperationalError

from bot.i18n import LANGUAGE_NAMES, Translator, available_locales, negotiate, translator
from bot.services import callbacks
from bot.services.catalog import FlowCatalog
from bot.services.events import Command, Edited, Event, Tap, Text
from bot.services.hints import hint
from bot.services.replies import (
    ClearButtons,
    EditText,
    Keyboard,
    Outcome,
    Person,
    Schedule,
    SendText,
)
from flows import engine
from flows.engine import Accepted, ButtonInput, PhotoInput, Prompt, Rejected, TextInput, Turn
from flows.model import Flow, StepType
from storage.models import Identity, Participant, Run, utcnow
from storage.repo import Database, Repo

log = logging.getLogger(__name__)

# Bump when the privacy notice changes: everyone is asked again before their next flow.
NOTICE_VERSION = "2026-1"
TRANSACTION_ATTEMPTS = 3


class MediaStore(Protocol):
    """Downloads a file the person sent (voice note, photo) into MEDIA_DIR."""

    async def download(self, file_id: str, relative_path: str) -> bool:
        """Store the file under `relative_path`; False if it could not be fetched."""


@dataclass
class _Ctx:
    """What one update is about, looked up once."""

    repo: Repo
    participant: Participant
    identity: Identity
    t: Translator
    out: Outcome = field(default_factory=Outcome)
    downloads: list[tuple[int, str, str, str]] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return self.identity.chat_id

    def say(self, text: str, buttons: Keyboard | None = None, prompt_run_id: int | None = None):
        self.out.replies.append(SendText(self.chat_id, text, buttons, prompt_run_id))

    def ack(self, text: str | None = None, alert: bool = False) -> None:
        self.out.callback_text = text
        self.out.callback_alert = alert


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
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.default_locale = default_locale
        self.timezone = timezone
        self.merge_window = timedelta(seconds=text_merge_seconds)
        self.media = media
        self.clock = clock
        self._pinned: dict[int, Flow] = {}

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

    async def settle_text(self, run_id: int) -> Outcome:
        """End of the merge window: take the collected text as the answer and go on."""
        async with self.db.transaction() as repo:
            run = await repo.run(run_id)
            if run is None or run.collect_until is None or run.status != "active":
                return Outcome()
            participant = await repo.participant(run.participant_id)
            await repo.session.refresh(participant, ["identity"])
            if participant.identity is None:
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

    async def remember_prompt(self, run_id: int, message_id: int) -> None:
        """Store the id of the message that shows a run's current question."""
        async with self.db.transaction() as repo:
            await repo.set_prompt_message(run_id, message_id)

    # --- context -----------------------------------------------------------------------
    async def _context(self, repo: Repo, person: Person) -> _Ctx:
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

    def _ctx(self, repo: Repo, participant: Participant, identity: Identity) -> _Ctx:
        locale = participant.locale or negotiate(identity.language_code, self.default_locale)
        return _Ctx(repo, participant, identity, translator(locale, self.timezone))

    def _flow(self, run: Run) -> Flow:
        flow = self._pinned.get(run.flow_version_id)
        if flow is None:
            flow = Flow.model_validate(run.flow_version.definition)
            self._pinned[run.flow_version_id] = flow
        return flow

    def _engine_ctx(self, ctx: _Ctx) -> engine.Context:
        return engine.Context(
            locale=ctx.t.locale, first_name=ctx.identity.first_name, timezone=self.timezone
        )

    # --- dispatch ----------------------------------------------------------------------
    async def _dispatch(self, ctx: _Ctx, event: Event) -> None:
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
        run = await self._ready_run(ctx)
        if run is None:
            return
        if run.status == "paused":
            await self._resume(ctx, run)
            return
        inp = TextInput(event.text) if isinstance(event, Text) else event.input
        await self._answer(ctx, run, inp)

    async def _ready_run(self, ctx: _Ctx) -> Run | None:
        """The open run of an onboarded person; otherwise say what comes next and give None."""
        if ctx.participant.stage != "ready":
            await self._onboarding(ctx)
            return None
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is None:
            await self._offer_flows(ctx, ctx.t.gettext("There is no interview open for you."))
        return run

    async def _command(self, ctx: _Ctx, cmd: Command) -> None:
        t = ctx.t
        name = cmd.name
        if name == "start":
            await self._start_command(ctx, cmd.args.strip())
            return
        if name == "help":
            ctx.say(help_text(t))
            return
        if name == "language":
            ctx.say(t.gettext("Which language would you like?"), language_buttons())
            return
        if name == "privacy":
            ctx.say(privacy_text(t, full=True))
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

    # --- onboarding --------------------------------------------------------------------
    async def _start_command(self, ctx: _Ctx, payload: str) -> None:
        t = ctx.t
        p = ctx.participant
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

    async def _onboarding(self, ctx: _Ctx) -> None:
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
        if await ctx.repo.has_consent(p.id, NOTICE_VERSION):
            p.stage = "ready"
            await self._start_pending(ctx)
            return
        p.stage = "consent"
        ctx.say(
            privacy_text(t, full=False),
            [[(t.gettext("✅ I agree"), callbacks.choice("c", NOTICE_VERSION))]],
        )

    async def _set_locale(self, ctx: _Ctx, locale: str) -> None:
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

    async def _consent(self, ctx: _Ctx, version: str) -> None:
        t = ctx.t
        p = ctx.participant
        if version != NOTICE_VERSION:
            ctx.ack(t.gettext("This notice is out of date."), alert=False)
            await self._onboarding(ctx)
            return
        if not await ctx.repo.has_consent(p.id, NOTICE_VERSION):
            await ctx.repo.add_consent(p.id, NOTICE_VERSION, t.locale)
        ctx.ack(t.gettext("Thank you!"))
        if p.stage != "ready":
            p.stage = "ready"
            await self._start_pending(ctx)

    async def _start_pending(self, ctx: _Ctx) -> None:
        pending = ctx.participant.pending_flow
        ctx.participant.pending_flow = None
        if pending and self.catalog.get(pending) is not None:
            await self._start_flow(ctx, pending)
        else:
            await self._offer_flows(ctx, ctx.t.gettext("Thank you! You can start now."))

    async def _offer_flows(self, ctx: _Ctx, lead: str) -> None:
        t = ctx.t
        flows = self.catalog.all()
        if not flows:
            ctx.say(lead + "\n\n" + t.gettext("There is nothing to answer right now."))
            return
        buttons = [[(f.text("title", t.locale), callbacks.choice("f", f.id))] for f in flows]
        ctx.say(lead + "\n\n" + t.gettext("What would you like to start?"), buttons)

    # --- buttons -----------------------------------------------------------------------
    async def _tap(self, ctx: _Ctx, tap: Tap) -> None:
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
    async def _answer(self, ctx: _Ctx, run: Run, inp: Any, tap: bool = False) -> None:
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        ectx = self._engine_ctx(ctx)
        step = flow.step(state.current) if state.current else None
        collecting = run.collect_until is not None
        if collecting and not (isinstance(inp, TextInput) and step and step.type == StepType.TEXT):
            # Something other than more text: the collected text is the answer; go on first.
            await self._settle(ctx, run)
            state = engine.RunState.from_dict(run.state)
            step = flow.step(state.current) if state.current else None
            collecting = False
            if step is None:
                if tap:
                    ctx.ack()
                return
        if collecting:
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
            run.collect_until = self.clock() + self.merge_window
            ctx.out.replies.append(Schedule(run.id, run.collect_until))
            return
        if step.type in (StepType.VOICE, StepType.PHOTO) and isinstance(result.value, dict):
            ext = "jpg" if isinstance(inp, PhotoInput) else "ogg"
            path = f"{ctx.participant.pseudonym}/run{run.id}-{step.id}.{ext}"
            result = Accepted({**result.value, "path": None})
            ctx.downloads.append((run.id, step.id, result.value["file_id"], path))
        turn = engine.submit(flow, state, result.value, ectx)
        await self._apply(ctx, run, turn, self._wording(ctx, flow, state))

    def _wording(self, ctx: _Ctx, flow: Flow, state: engine.RunState) -> str:
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

    async def _settle(self, ctx: _Ctx, run: Run) -> None:
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        run.collect_until = None
        answer = await ctx.repo.answer(run.id, state.current) if state.current else None
        if answer is None:
            return
        turn = engine.submit(flow, state, answer.value, self._engine_ctx(ctx))
        await self._apply(ctx, run, turn, self._wording(ctx, flow, state))

    async def _apply(self, ctx: _Ctx, run: Run, turn: Turn, wording: str | None = None) -> None:
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

    def _show_prompt(self, ctx: _Ctx, run: Run, lead: str | None = None) -> None:
        """(Re)send the current question, optionally after a hint, as one message."""
        flow = self._flow(run)
        state = engine.RunState.from_dict(run.state)
        prompt = engine.prompt(flow, state, self._engine_ctx(ctx))
        if prompt is None:
            return
        text = f"{lead}\n\n{prompt.text}" if lead else prompt.text
        self._say_prompt(ctx, run, prompt, text)

    def _say_prompt(self, ctx: _Ctx, run: Run, prompt: Prompt, text: str) -> None:
        keys = self._keys(run, prompt)
        # Only a question with buttons is remembered: its buttons get edited or cleared later.
        ctx.say(text, keys, run.id if keys else None)

    # --- run commands ------------------------------------------------------------------
    async def _start_flow(self, ctx: _Ctx, flow_id: str) -> None:
        t = ctx.t
        flow = self.catalog.get(flow_id)
        if flow is None:
            await self._offer_flows(ctx, t.gettext("I don't know this interview."))
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
        if await ctx.repo.completed_run(ctx.participant.id, version.id) is not None:
            ctx.say(t.gettext("You have already answered this one. Thank you!"))
            return
        self._pinned.setdefault(version.id, flow)
        turn = engine.start(flow, self._engine_ctx(ctx))
        run = await ctx.repo.add_run(
            ctx.participant.id, version.id, ctx.t.locale, turn.state.to_dict()
        )
        await ctx.repo.session.refresh(run, ["flow_version"])
        ctx.say(
            t.gettext(
                "“{title}” starts now. You can pause any time with /pause, go back with "
                "/back, and stop with /cancel."
            ).format(title=flow.text("title", t.locale))
        )
        await self._apply(ctx, run, turn)

    async def _back(self, ctx: _Ctx, run: Run) -> None:
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

    async def _pause(self, ctx: _Ctx, run: Run) -> None:
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

    async def _resume(self, ctx: _Ctx, run: Run) -> None:
        run.status = "active"
        lead = ctx.t.gettext(
            "Welcome back! Your answers up to {when} are saved. Here is where you left off:"
        ).format(when=ctx.t.datetime(run.updated_at))
        self._show_prompt(ctx, run, lead=lead)

    async def _cancel(self, ctx: _Ctx, run: Run) -> None:
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


def help_text(t: Translator) -> str:
    """The commands, explained in the person's language."""
    return "\n".join(
        [
            t.gettext("What I understand:"),
            t.gettext("/start – start or continue an interview"),
            t.gettext("/back – go back to the previous question and change your answer"),
            t.gettext("/pause – take a break (send any message to go on)"),
            t.gettext("/resume – continue where you left off"),
            t.gettext("/cancel – stop the interview (your answers so far are kept)"),
            t.gettext("/language – choose another language"),
            t.gettext("/privacy – what happens with your answers"),
            t.gettext("/help – this list"),
        ]
    )


def privacy_text(t: Translator, full: bool) -> str:
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
        + t.gettext("Notice version: {version}").format(version=NOTICE_VERSION)
    )
