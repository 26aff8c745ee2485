"""Taking an answer: the engine's verdict, the merge window for short messages, what is
stored with the answer, and the question shown next."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from bot.i18n import Translator
from bot.services import callbacks
from bot.services.context import Config, Ctx
from bot.services.hints import hint
from bot.services.replies import ClearButtons, EditText, Keyboard, ProgressChanged, Schedule, Typing
from flows import engine
from flows.engine import Accepted, ButtonInput, PhotoInput, Prompt, Rejected, TextInput, Turn
from flows.model import Flow, StepType
from storage.models import Answer, Run
from storage.statuses import RunStatus, set_run_status

# A typed answer that ends like a sentence, or is this long, reads as finished: the merge
# window for more messages after it is a third of the full one.
FINISHED_MARKS = (".", "!", "?", "…", "。", "؟")
CLOSING_MARKS = "\"'»«“”„)] "
FINISHED_LENGTH = 80
COLLECTED_MAX = 10_000  # merge windows remembered at most (one per person answering)


class Answers:
    """Runs a person's answer through the engine and persists the turn."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._pinned: dict[int, Flow] = {}
        # run id -> (collect_until, text, wording) as the last committed message stored it:
        # the settle then needs not read the answer back (the window's end time tells
        # whether nothing changed since; another process or a rollback leaves no entry).
        self._collected: dict[int, tuple[Any, str, str]] = {}

    def flow(self, run: Run) -> Flow:
        """The flow version the run is pinned to."""
        flow = self._pinned.get(run.flow_version_id)
        if flow is None:
            flow = Flow.model_validate(run.flow_version.definition)
            self._pinned[run.flow_version_id] = flow
        return flow

    def pin(self, version_id: int, flow: Flow) -> None:
        """Remember the parsed flow of a version just stored."""
        self._pinned.setdefault(version_id, flow)

    def engine_ctx(self, ctx: Ctx) -> engine.Context:
        """What the engine needs to render texts for this person."""
        return engine.Context(
            locale=ctx.t.locale, first_name=ctx.identity.first_name, timezone=self.config.timezone
        )

    async def answer(self, ctx: Ctx, run: Run, inp: Any, tap: bool = False) -> None:
        """Take `inp` as the answer to the run's current question."""
        flow = self.flow(run)
        state = engine.RunState.from_dict(run.state)
        step = flow.step(state.current) if state.current else None
        # While short messages are being collected, everything still concerns the question
        # the person sees: more text joins the answer, its skip button ends the collecting,
        # anything else gets that question's hint — never the next question, not shown yet.
        collecting = run.collect_until is not None
        if collecting and isinstance(inp, ButtonInput) and inp.action == "skip":
            # Skip after typing reads as "that's my answer, go on": keep what they wrote.
            if tap:
                ctx.ack("✓")
            await self.settle(ctx, run)
            return
        previous = None
        if collecting and isinstance(inp, TextInput):
            previous = await ctx.repo.answer(run.id, step.id)
            if previous is not None and isinstance(previous.value, str):
                inp = TextInput(previous.value + "\n" + inp.text)
        result = engine.accept(flow, state, inp, self.engine_ctx(ctx))
        if isinstance(result, Rejected):
            if tap:
                ctx.ack(hint(result, ctx.t))
            lead = self._reprompt(result, ctx.t)
            if collecting:
                lead += "\n" + ctx.t.gettext("I kept what you wrote before.")
            self.show_prompt(ctx, run, lead=lead)
            return
        if isinstance(inp, ButtonInput) and inp.action.startswith("tog:"):
            self._toggle(ctx, run, flow, state, inp.action.removeprefix("tog:"))
            return
        if tap:
            ctx.ack("✓")
        # Assigned only if it changes: an assignment alone makes the run dirty, and the next
        # query would flush it first (see Dispatcher._context).
        if collecting:
            run.collect_until = None
        if step.type == StepType.TEXT and result.value is not None and self.config.merge_window:
            await self._collect(ctx, run, flow, state, result.value, previous)
            return
        if step.type in (StepType.VOICE, StepType.PHOTO) and isinstance(result.value, dict):
            ext = "jpg" if isinstance(inp, PhotoInput) else "ogg"
            path = f"{ctx.participant.pseudonym}/run{run.id}-{step.id}.{ext}"
            result = Accepted({**result.value, "path": None})
            ctx.downloads.append((run.id, step.id, result.value["file_id"], path))
        turn = engine.submit(flow, state, result.value, self.engine_ctx(ctx))
        await self.apply(ctx, run, turn, self._wording(ctx, flow, state))

    async def _collect(
        self, ctx: Ctx, run: Run, flow: Flow, state, value: str, previous: Answer | None
    ) -> None:
        """Keep the question open a few seconds: short follow-up messages join the answer.
        `previous`: the text collected so far in this window, if any."""
        now = self.config.clock()
        wording = self._wording(ctx, flow, state)
        if previous is None:
            await ctx.repo.first_text(run.id, state.current, value, wording, ctx.t.locale, now)
        else:
            args = (run.id, state.current, value, False, wording, ctx.t.locale, now, previous)
            await ctx.repo.save_answer(*args)
        window = self.window_after(value)
        await ctx.repo.write_run(run, collect_until=now + window)
        ctx.repo.after_commit(partial(self._note, run.id, (run.collect_until, value, wording)))
        if window >= self.config.merge_window:
            # After a fragment the bot waits the whole window: "typing…" shows it is there.
            # After a finished answer the next question follows within a second anyway, and
            # the indicator would be one more Bot API call for each answer.
            ctx.out.replies.append(Typing(ctx.chat_id))
        ctx.out.replies.append(Schedule(run.id, run.collect_until, ctx.chat_id))

    def _toggle(self, ctx: Ctx, run: Run, flow: Flow, state, code: str) -> None:
        """One option of a multiple choice on or off: the same message, edited."""
        state = engine.toggle(flow, state, code)
        run.state = state.to_dict()
        ctx.ack("✓")
        prompt = engine.prompt(flow, state, self.engine_ctx(ctx))
        if run.prompt_message_id and prompt is not None:
            keys = self.keys(run, prompt)
            ctx.out.replies.append(EditText(ctx.chat_id, run.prompt_message_id, prompt.text, keys))
        else:
            self.show_prompt(ctx, run)

    def window_after(self, text: str) -> timedelta:
        """How long to wait for more messages after `text`: briefly after an answer that
        reads as finished (sentence punctuation at the end, or long), fully after fragments."""
        stripped = text.rstrip().rstrip(CLOSING_MARKS)
        if stripped.endswith(FINISHED_MARKS) or len(stripped) >= FINISHED_LENGTH:
            return self.config.merge_window / 3
        return self.config.merge_window

    def _wording(self, ctx: Ctx, flow: Flow, state: engine.RunState) -> str:
        """The current question as stored with its answer: exact, but with the name masked
        (answers must stay free of identity once the identity link is deleted)."""
        masked = engine.Context(
            locale=ctx.t.locale, first_name="{first_name}", timezone=self.config.timezone
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

    def _note(self, run_id: int, stored: tuple[Any, str, str]) -> None:
        if len(self._collected) > COLLECTED_MAX:  # settled elsewhere, e.g. by another process
            self._collected.clear()
        self._collected[run_id] = stored

    async def settle(self, ctx: Ctx, run: Run) -> None:
        """Close the merge window: the collected text is the answer."""
        flow = self.flow(run)
        state = engine.RunState.from_dict(run.state)
        wording = self._wording(ctx, flow, state)
        noted = self._collected.pop(run.id, None)
        if noted is not None and noted[0] == run.collect_until and noted[2] == wording:
            stored = (state.current, noted[1], wording)
            turn = engine.submit(flow, state, noted[1], self.engine_ctx(ctx))
            await self.apply(ctx, run, turn, wording, stored=stored, closing=True)
        elif (answer := await ctx.repo.answer(run.id, state.current)) is not None:
            turn = engine.submit(flow, state, answer.value, self.engine_ctx(ctx))
            await self.apply(ctx, run, turn, wording, known=answer, closing=True)
        elif run.collect_until is not None:
            run.collect_until = None

    async def apply(
        self,
        ctx: Ctx,
        run: Run,
        turn: Turn,
        wording: str | None = None,
        known: Answer | None = None,
        stored: tuple[str, Any, str] | None = None,
        closing: bool = False,
    ) -> None:
        """Persist a turn's answers (with `wording`, the question as shown) and state, then
        queue what the person sees next. `known`: an answer of this run just read; `stored`:
        (step id, value, wording) of an answer already stored exactly so; `closing`: this
        ends the run's merge window."""
        now = self.config.clock()
        for step_id in turn.cleared:
            # The person changed an earlier answer and this step is no longer on their path.
            await ctx.repo.delete_answer(run.id, step_id)
        for rec in turn.recorded:
            shown = wording if wording is not None else rec.shown_text
            if not rec.skipped and (rec.step_id, rec.value, shown) == stored:
                continue
            await ctx.repo.save_answer(
                run.id, rec.step_id, rec.value, rec.skipped, shown, ctx.t.locale, now, known
            )
        values: dict[str, Any] = {"state": turn.state.to_dict()}
        if run.locale != ctx.t.locale:
            values["locale"] = ctx.t.locale
        if closing:
            values["collect_until"] = None
        await ctx.repo.write_run(run, **values)  # one UPDATE, written at once
        clear_buttons(ctx, run)
        for text in turn.messages:
            ctx.say(text)
        if turn.finished:
            set_run_status(run, RunStatus.COMPLETE)
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

    def keys(self, run: Run, prompt: Prompt) -> Keyboard | None:
        """The question's buttons, each carrying run, step index and action."""
        if not prompt.buttons:
            return None
        index = prompt.step_index
        return [
            [(b.label, callbacks.button(callbacks.RunButton(run.id, index, b.action))) for b in row]
            for row in prompt.buttons
        ]

    def show_prompt(self, ctx: Ctx, run: Run, lead: str | None = None) -> None:
        """(Re)send the current question, optionally after a hint, as one message."""
        flow = self.flow(run)
        state = engine.RunState.from_dict(run.state)
        prompt = engine.prompt(flow, state, self.engine_ctx(ctx))
        if prompt is None:
            return
        text = f"{lead}\n\n{prompt.text}" if lead else prompt.text
        self._say_prompt(ctx, run, prompt, text)

    def _say_prompt(self, ctx: Ctx, run: Run, prompt: Prompt, text: str) -> None:
        keys = self.keys(run, prompt)
        # Only a question with buttons is remembered: its buttons get edited or cleared later.
        ctx.say(text, keys, run.id if keys else None)


def clear_buttons(ctx: Ctx, run: Run) -> None:
    """Take the buttons off the message that showed the run's question, if any."""
    if run.prompt_message_id:
        ctx.out.replies.append(ClearButtons(ctx.chat_id, run.prompt_message_id))
        run.prompt_message_id = None
