"""The interviews router: starting flows, answering, /back, /pause, /resume, /cancel, media."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from bot.services import callbacks
from bot.services.catalog import FlowCatalog
from bot.services.context import Ctx
from bot.services.events import Edited, Media, Tap, Text, Unreadable
from bot.services.replies import ProgressChanged, Schedule
from bot.services.routers.answers import Answers, clear_buttons
from flows import engine
from flows.engine import ButtonInput, TextInput
from storage import people
from storage.models import Run
from storage.statuses import RunStatus, Stage, set_run_status, set_stage

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher

log = logging.getLogger(__name__)


class MediaStore(Protocol):
    """Downloads a file the person sent (voice note, photo) into MEDIA_DIR."""

    async def download(self, file_id: str, relative_path: str) -> bool:
        """Store the file under `relative_path`; False if it could not be fetched."""


class Interviews:
    """Flows as interviews: one open run per person, pinned to its flow version."""

    def __init__(self, dispatcher: Dispatcher, catalog: FlowCatalog, media: MediaStore | None):
        self.dispatcher = dispatcher
        self.config = dispatcher.config
        self.catalog = catalog
        self.media = media
        self.answers = Answers(self.config)

    def register(self) -> None:
        """Commands, payloads and events this router answers."""
        d = self.dispatcher
        d.command(("back",), self._run_command(self._back), ready=True)
        d.command(("pause",), self._run_command(self._pause), ready=True)
        d.command(("resume",), self._run_command(self.resume), ready=True)
        d.command(("cancel",), self._run_command(self._cancel), ready=True)
        d.payload(callbacks.RunButton, self._run_tap)
        d.payload(callbacks.StartFlow, self._start_tap)
        d.link(callbacks.FlowLink, self._flow_link)
        d.event(Text, self._typed, ready=True)
        d.event(Media, self._typed, ready=True)
        d.event(Edited, self._edited)
        d.event(Unreadable, self._unreadable)
        d.interviews = self

    # --- what other routers use ------------------------------------------------------
    async def start_flow(self, ctx: Ctx, flow_id: str, campaign_id: int | None = None) -> None:
        """Start (or resume) the flow `flow_id` for an onboarded person."""
        t = ctx.t
        flow = self.catalog.get(flow_id)
        if flow is None:
            await self.offer_flows(ctx, t.gettext("I don't know this interview."))
            return
        if not await ctx.repo.has_consent(ctx.participant.id, self.config.notice_version):
            # The privacy notice changed since they agreed: ask again before a new flow.
            ctx.participant.pending_flow = flow_id
            set_stage(ctx.participant, Stage.CONSENT)
            ctx.say(t.gettext("Our privacy notice has changed. Please read it again."))
            await self.dispatcher.onboard(ctx)
            return
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is not None:
            await self.resume_open(ctx, run, flow_id)
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
        self.answers.pin(version.id, flow)
        previous = await ctx.repo.previous_wave(ctx.participant.id, flow.id)
        turn = engine.start(flow, self.answers.engine_ctx(ctx), previous)
        run = await ctx.repo.add_run(ctx.participant.id, version.id, t.locale, turn.state.to_dict())
        run.campaign_id = campaign_id
        if campaign_id is not None:
            ctx.out.replies.append(ProgressChanged(campaign_id))
        await people.with_flow_version(ctx.repo, run)
        ctx.say(
            t.gettext(
                "“{title}” starts now. You can pause any time with /pause, go back with "
                "/back, and stop with /cancel."
            ).format(title=flow.text("title", t.locale))
        )
        await self.answers.apply(ctx, run, turn)

    async def resume_open(self, ctx: Ctx, run: Run, wanted: str | None = None) -> None:
        """Back to the open run; say so when the person asked for another flow."""
        if wanted and wanted != run.flow_version.flow_id:
            ctx.say(
                ctx.t.gettext(
                    "You are in the middle of another interview. Finish it first, "
                    "or stop it with /cancel."
                )
            )
        await self.resume(ctx, run)

    async def offer_flows(self, ctx: Ctx, lead: str) -> None:
        """`lead`, then the flows there are to start, as buttons."""
        t = ctx.t
        flows = self.catalog.all()
        if not flows:
            ctx.say(lead + "\n\n" + t.gettext("There is nothing to answer right now."))
            return
        buttons = [
            [(f.text("title", t.locale), callbacks.button(callbacks.StartFlow(f.id)))]
            for f in flows
        ]
        ctx.say(lead + "\n\n" + t.gettext("What would you like to start?"), buttons)

    async def after_onboarding(self, ctx: Ctx) -> None:
        """Nothing was pending: the person can start now."""
        await self.offer_flows(ctx, ctx.t.gettext("Thank you! You can start now."))

    def show_prompt(self, ctx: Ctx, run: Run, lead: str | None = None) -> None:
        """(Re)send the run's current question."""
        self.answers.show_prompt(ctx, run, lead)

    async def resume(self, ctx: Ctx, run: Run) -> None:
        """/resume, or any message to a paused run: where the person left off."""
        set_run_status(run, RunStatus.ACTIVE)
        lead = ctx.t.gettext(
            "Welcome back! Your answers up to {when} are saved. Here is where you left off:"
        ).format(when=ctx.t.datetime(run.updated_at))
        self.answers.show_prompt(ctx, run, lead=lead)

    # --- handlers --------------------------------------------------------------------
    def _run_command(self, action):
        async def handler(ctx: Ctx, args: str) -> None:
            run = await self._open_run(ctx)
            if run is not None:
                await action(ctx, run)

        return handler

    async def _open_run(self, ctx: Ctx) -> Run | None:
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is None:
            await self.offer_flows(ctx, ctx.t.gettext("There is no interview open for you."))
        return run

    async def _flow_link(self, ctx: Ctx, link: callbacks.FlowLink) -> None:
        if self.catalog.get(link.flow_id) is None:
            await self.after_onboarding(ctx)
            return
        await self.start_flow(ctx, link.flow_id)

    async def _start_tap(self, ctx: Ctx, payload: callbacks.StartFlow, tap: Tap) -> None:
        ctx.ack()
        if ctx.participant.stage != Stage.READY:
            ctx.participant.pending_flow = payload.flow_id
            await self.dispatcher.onboard(ctx)
            return
        await self.start_flow(ctx, payload.flow_id)

    async def _typed(self, ctx: Ctx, event: Text | Media) -> None:
        run = await self._open_run(ctx)
        if run is None:
            return
        if run.status == RunStatus.PAUSED:
            await self.resume(ctx, run)
            return
        inp = TextInput(event.text) if isinstance(event, Text) else event.input
        await self.answers.answer(ctx, run, inp)

    async def _edited(self, ctx: Ctx, event: Edited) -> None:
        ctx.say(
            ctx.t.gettext(
                "I only read new messages, not edits. Please send the corrected answer "
                "as a new message, or use /back to change an earlier one."
            )
        )

    async def _unreadable(self, ctx: Ctx, event: Unreadable) -> None:
        # Never stored: the person is asked again, and the question they are on stays.
        lead = ctx.t.gettext(
            "I could not read that message: some characters got broken on the way. "
            "Please type it again."
        )
        ready = ctx.participant.stage == Stage.READY
        run = await ctx.repo.open_run(ctx.participant.id) if ready else None
        if run is not None and run.status == RunStatus.ACTIVE:
            self.answers.show_prompt(ctx, run, lead=lead)
            return
        ctx.say(lead)
        if not ready:
            await self.dispatcher.onboard(ctx)

    async def _run_tap(self, ctx: Ctx, button: callbacks.RunButton, tap: Tap) -> None:
        t = ctx.t
        run = await ctx.repo.open_run(ctx.participant.id)
        if run is None or run.id != button.run_id:
            ctx.ack(t.gettext("This button belongs to an interview that is over."))
            if run is not None:
                self.answers.show_prompt(ctx, run)
            return
        if run.status == RunStatus.PAUSED:
            set_run_status(run, RunStatus.ACTIVE)
        flow = self.answers.flow(run)
        state = engine.RunState.from_dict(run.state)
        current = flow.index(state.current) if state.current else -1
        if button.step_index != current:
            ctx.ack(t.gettext("That button belongs to an earlier question."))
            lead = t.gettext("That button belongs to an earlier question.")
            self.answers.show_prompt(ctx, run, lead=lead)
            return
        await self.answers.answer(ctx, run, ButtonInput(button.action), tap=True)

    async def _back(self, ctx: Ctx, run: Run) -> None:
        if not await self._settled(ctx, run):
            return
        set_run_status(run, RunStatus.ACTIVE)
        state = engine.RunState.from_dict(run.state)
        if not state.history:
            lead = ctx.t.gettext("This is the first question.")
            self.answers.show_prompt(ctx, run, lead=lead)
            return
        turn = engine.back(self.answers.flow(run), state, self.answers.engine_ctx(ctx))
        await self.answers.apply(ctx, run, turn)

    async def _pause(self, ctx: Ctx, run: Run) -> None:
        if not await self._settled(ctx, run):
            return
        set_run_status(run, RunStatus.PAUSED)
        clear_buttons(ctx, run)
        ctx.say(
            ctx.t.gettext(
                "Paused. Your answers are saved. Send /resume or any message when you "
                "want to go on — also in a few days."
            )
        )

    async def _settled(self, ctx: Ctx, run: Run) -> bool:
        """Close an open merge window first; False if that finished the run."""
        if run.collect_until is None:
            return True
        await self.answers.settle(ctx, run)
        return run.status == RunStatus.ACTIVE

    async def _cancel(self, ctx: Ctx, run: Run) -> None:
        set_run_status(run, RunStatus.INCOMPLETE)
        run.collect_until = None
        run.finished_at = self.config.clock()
        clear_buttons(ctx, run)
        ctx.say(
            ctx.t.gettext(
                "Stopped. The answers you gave so far are kept. /start shows what you can do next."
            )
        )

    # --- outside a person's update ---------------------------------------------------
    async def settle_due(self, ctx: Ctx, run: Run) -> None:
        """The merge timer fired: settle if the window is over, else wait again."""
        if run.collect_until > self.config.clock():
            ctx.out.replies.append(Schedule(run.id, run.collect_until, ctx.chat_id))
            return
        await self.answers.settle(ctx, run)

    async def fetch_media(self, run_id: int, step_id: str, file_id: str, path: str) -> None:
        """Download a voice note or photo after commit and note its path in the answer."""
        if self.media is None:
            return
        try:
            ok = await self.media.download(file_id, path)
        except Exception:  # the answer (file id) is stored; the file can be fetched later
            log.exception("could not download %s", path)
            return
        if not ok:
            return
        async with self.dispatcher.db.transaction() as repo:
            answer = await repo.answer(run_id, step_id)
            value = answer.value if answer is not None else None
            if isinstance(value, dict) and value.get("file_id") == file_id:
                answer.value = {**value, "path": path}
