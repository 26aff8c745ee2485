"""`backbone retention`: delete identity links and media of runs past their retention period.

The same use case the running bot applies once a day (bot.services.retention). `--dry-run`
lists what would go; without it the command asks first (`--yes` skips the question).
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli_common import ACTOR, _confirm, _settings, _with_db


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _line(report, zone) -> str:
    what = f"flow {report.key}" if report.kind == "flow" else f"campaign {report.key}"
    if report.kind == "campaign":
        what += f" ({report.flow_id})"
    before = report.finished_before.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    line = (
        f"{what}: {report.months} months, runs finished before {before}: "
        f"{_plural(report.runs, 'run')}, {_plural(report.identity_links, 'identity link')}, "
        f"{_plural(report.media_files, 'media file')}"
    )
    if report.kept:
        line += (
            f" ({report.kept} keep their link: an open or newer run, a campaign message "
            "still to be sent, or a staff role)"
        )
    return line


def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be deleted.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the Telegram link and media of finished runs past their flow's or campaign's
    retain_identity_months (not undoable); --dry-run lists what would go."""
    from bot.services import retention as cases
    from flows.loader import FlowError, flow_files, load_flow

    settings = _settings()
    flows = []
    for path in flow_files([settings.flows_dir]):
        try:
            flows.append(load_flow(path))
        except FlowError:
            # A broken flow file has no period the bot would apply either.
            typer.echo(f"warning: {path} is not valid, see `backbone flows check`", err=True)
    rules = cases.flow_rules(flows)
    found = _with_db(settings, lambda db: cases.dry_run(db, rules), refused=())
    if not found:
        typer.echo("nothing is past its retention period")
        return
    for report in found:
        typer.echo(_line(report, settings.zone))
    if dry_run:
        return
    _confirm(
        "Delete these identity links and media files? Nobody can be re-identified or "
        "messaged afterwards; this cannot be undone.",
        yes,
    )
    done = _with_db(
        settings, lambda db: cases.apply(db, rules, settings.media_dir, ACTOR), refused=()
    )
    links = sum(r.identity_links for r in done)
    files = sum(r.media_deleted for r in done)
    typer.echo(
        f"removed {_plural(links, 'identity link')} and {_plural(files, 'media file')} "
        f"(audited per flow or campaign)"
    )
