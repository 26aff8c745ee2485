"""`backbone results send`: the results of a closed campaign or session back to the people
who took part — the same use case as /results in Telegram (bot.services.results_back).

A preview first (who gets it, who cannot be reached, the message in the default language),
then a confirmation (`--yes` skips it). Nothing is sent from here: the running bot's results
sender delivers the planned messages (quiet hours, rate limits). Exit codes: 2 for bad
arguments, 1 for something unknown or refused, or a declined confirmation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_common import ACTOR, Refused, _fail, _settings, _with_db

if TYPE_CHECKING:
    from bot.services.results_back import Preview, Source
    from storage.repo import Database

results_app = typer.Typer(
    help="Results back to the people who took part (small cells suppressed).",
    no_args_is_help=True,
)


def _source(campaign: int | None, session: str | None) -> Source:
    from bot.services.results_back import Source

    if (campaign is None) == (session is None):
        _fail("give exactly one of --campaign ID or --session CODE")
    return Source(campaign_id=campaign, session_code=session)


def _refused(exc, settings) -> Refused:
    from bot.i18n import translator
    from bot.services.results_back import refusal_text

    return Refused(refusal_text(exc, translator("en", settings.timezone)))


async def _prepare(db: Database, settings, source: Source, message, again) -> Preview:
    from bot.i18n import translator
    from bot.services import results_back
    from bot.services.catalog import FlowCatalog

    t = translator(settings.default_locale, settings.timezone)
    async with db.transaction() as repo:
        try:
            return await results_back.prepare(
                repo,
                FlowCatalog(settings.flows_dir),
                source,
                actor=ACTOR,
                t=t,
                k=settings.min_cell_size,
                message=message,
                again=again,
            )
        except results_back.Refused as exc:
            raise _refused(exc, settings) from None


def _print_preview(preview: Preview) -> None:
    r = preview.reach
    typer.echo(f"Results of “{preview.title}”: {preview.people} took part.")
    typer.echo(
        f"Will be sent to {r.reachable}; not sent: {r.opted_out} opted out or without "
        f"consent, {r.unreachable} unreachable (blocked the bot), {r.unlinked} deleted or "
        "without a Telegram link."
    )
    if preview.sent_before:
        typer.echo(f"Sent before: {preview.sent_before} time(s); --again sends them once more.")
    typer.echo("Each person gets it in their language; the message in the default language:")
    typer.echo("")
    typer.echo(preview.sample)
    typer.echo("")


@results_app.command("send")
def results_send(
    campaign: Annotated[
        int | None, typer.Option("--campaign", help="A finished or cancelled campaign's id.")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="An ended session's code.")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", help="An intro text, sent as written.")
    ] = None,
    again: Annotated[bool, typer.Option("--again", help="Send results sent before again.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Preview, confirm, and plan the results messages (the running bot sends them)."""
    from datetime import UTC, datetime

    from bot.services import results_back
    from storage import results_back as queries

    settings = _settings()
    source = _source(campaign, session)
    preview = _with_db(settings, lambda db: _prepare(db, settings, source, message, again))
    _print_preview(preview)
    agreed = yes
    if not yes:
        try:
            agreed = typer.confirm("Send these results?", default=False)
        except typer.Abort:
            agreed = False

    async def finish(db: Database) -> int:
        async with db.transaction() as repo:
            if not agreed:
                await queries.discard(repo, preview.send_id)
                return -1
            try:
                return await results_back.confirm(
                    repo, preview.send_id, ACTOR, datetime.now(UTC), again
                )
            except results_back.Refused as exc:
                raise _refused(exc, settings) from None

    planned = _with_db(settings, finish)
    if planned < 0:
        typer.echo("Nothing was sent.", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"Planned {planned} results message(s): the running bot sends them (not in quiet "
        f"hours; those who opted out or cannot be reached get nothing)."
    )
