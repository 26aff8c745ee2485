"""The results-back router: /results campaign <id> | session <CODE> [--again] [intro text],
a preview with a confirm button; every step re-checks the role and the draft's owner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services import callbacks, results_back, staff
from bot.services.context import Ctx
from bot.services.events import Tap
from bot.services.replies import EditText
from storage import results_back as queries

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher


def parse(args: str) -> tuple[results_back.Source, bool, str | None] | None:
    """(source, again, intro) of `/results …`, or None when it cannot be read."""
    words = args.split(maxsplit=2)
    if len(words) < 2 or words[0].lower() not in ("campaign", "session"):
        return None
    rest = words[2] if len(words) > 2 else ""
    again = rest.startswith("--again")
    intro = rest.removeprefix("--again").strip() or None
    if words[0].lower() == "session":
        return results_back.Source(session_code=words[1]), again, intro
    number = callbacks.number(words[1], low=1)
    return (results_back.Source(campaign_id=number), again, intro) if number else None


class Results:
    """Results of closed campaigns and sessions back to the people who took part."""

    def __init__(self, dispatcher: Dispatcher, catalog) -> None:
        self.dispatcher = dispatcher
        self.config = dispatcher.config
        self.catalog = catalog

    def register(self) -> None:
        """/results and its confirm buttons."""
        self.dispatcher.command(("results",), self._results)
        self.dispatcher.payload(callbacks.ResultsConfirm, self._tap)

    async def _results(self, ctx: Ctx, args: str) -> None:
        if staff.refuse(ctx):
            return
        t = ctx.t
        parsed = parse(args)
        if parsed is None:
            ctx.say(
                t.gettext(
                    "Usage: /results campaign <id> or /results session <CODE>, optionally "
                    "followed by --again and an intro text."
                )
            )
            return
        source, again, intro = parsed
        try:
            preview = await results_back.prepare(
                ctx.repo,
                self.catalog,
                source,
                actor=ctx.participant.pseudonym,
                t=t,
                k=self.config.min_cell_size,
                message=intro,
                again=again,
                chat_id=ctx.chat_id,
            )
        except results_back.Refused as exc:
            ctx.say(results_back.refusal_text(exc, t))
            return
        action = "again" if again else "ok"
        ok = callbacks.button(callbacks.ResultsConfirm(preview.send_id, action))
        no = callbacks.button(callbacks.ResultsConfirm(preview.send_id, "no"))
        ctx.say(
            _preview_text(preview, t),
            [[(t.gettext("✅ Send the results"), ok), (t.gettext("✖ Cancel"), no)]],
        )

    async def _tap(self, ctx: Ctx, button: callbacks.ResultsConfirm, tap: Tap) -> None:
        t = ctx.t
        if not ctx.is_staff:
            ctx.ack(t.gettext("Sorry, this command is only for the backbone team."), alert=True)
            return
        row = await queries.send(ctx.repo, button.send_id)
        if row is None or row.created_by != ctx.participant.pseudonym:
            ctx.ack(t.gettext("This button does not work."), alert=True)
            return
        if row.confirmed_at is not None:
            ctx.ack(t.gettext("These results are already on their way."), alert=True)
            return
        if button.action == "no":
            await queries.discard(ctx.repo, row.id)
            ctx.ack()
            self._edit(ctx, tap, t.gettext("Cancelled: nothing was sent."))
            return
        try:
            planned = await results_back.confirm(
                ctx.repo,
                row.id,
                ctx.participant.pseudonym,
                self.config.clock(),
                again=button.action == "again",
            )
        except results_back.Refused as exc:
            ctx.ack(results_back.refusal_text(exc, t), alert=True)
            return
        ctx.ack()
        text = t.ngettext(
            "Results planned for {n} person: they arrive soon (never in quiet hours).",
            "Results planned for {n} people: they arrive soon (never in quiet hours).",
            planned,
        ).format(n=planned)
        self._edit(ctx, tap, text)

    def _edit(self, ctx: Ctx, tap: Tap, text: str) -> None:
        if tap.message_id is None:
            ctx.say(text)
        else:
            ctx.out.replies.append(EditText(ctx.chat_id, tap.message_id, text, None))


def _preview_text(preview: results_back.Preview, t) -> str:
    r = preview.reach
    lines = [
        t.gettext("Results of “{title}”: {n} took part.").format(
            title=preview.title, n=preview.people
        ),
        t.gettext(
            "They go to {reachable}; not to {opted} who opted out, {blocked} unreachable, "
            "{unlinked} deleted."
        ).format(
            reachable=r.reachable, opted=r.opted_out, blocked=r.unreachable, unlinked=r.unlinked
        ),
    ]
    if preview.sent_before:
        lines.append(t.gettext("These results were sent before; this sends them once more."))
    lines += ["", t.gettext("Each person gets it in their language, like this:"), ""]
    lines.append(preview.sample)
    return "\n".join(lines)[:4096]
