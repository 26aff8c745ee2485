"""`backbone export`: a flow's answers with a codebook, or a session's poll votes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_common import _fail, _settings, _with_db

if TYPE_CHECKING:
    from storage.repo import Database


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


class Layout(StrEnum):
    long = "long"
    wide = "wide"


class PollExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


RAW_CSV_HELP = (
    "Write CSV cells exactly as stored. By default a text cell starting with = + - @, a tab "
    "or a carriage return gets a leading apostrophe, so spreadsheets do not run it as a formula."
)


export_app = typer.Typer(
    help="Export data for analysis (pseudonyms only, never Telegram ids or names).\n\n"
    "A flow's answers with a codebook (--format csv|xlsx|json, --layout wide|long):\n\n"
    "  backbone export --flow ID --output FILE\n\n"
    "A live-poll session's votes with a summary per option (--format csv|xlsx):\n\n"
    "  backbone export polls --session CODE --output FILE",
    invoke_without_command=True,
    no_args_is_help=True,
)


def _run_export(go: Callable[[Database], Awaitable[list[Path]]]) -> None:
    """Run an export coroutine factory against the configured database; print the files."""
    for path in _with_db(_settings(), go, refused=(LookupError,)):
        typer.echo(f"wrote {path}")


@export_app.callback()
def export(
    ctx: typer.Context,
    flow: Annotated[
        str | None, typer.Option("--flow", help="Flow id: export this flow's answers.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (flow export).")
    ] = None,
    format: Annotated[
        ExportFormat | None,
        typer.Option("--format", help="Flow export format (default: csv)."),
    ] = None,
    layout: Annotated[
        Layout | None,
        typer.Option("--layout", help="Flow export layout (default: wide)."),
    ] = None,
    campaign: Annotated[
        int | None, typer.Option("--campaign", help="Only the runs this campaign started.")
    ] = None,
    raw_csv: Annotated[bool, typer.Option("--raw-csv", help=RAW_CSV_HELP)] = False,
) -> None:
    """Export a flow's answers (pseudonyms only) with a codebook, or a session's poll votes."""
    given = [
        name
        for name, value in (
            ("--flow", flow),
            ("--output", output),
            ("--format", format),
            ("--layout", layout),
            ("--campaign", campaign),
            ("--raw-csv", raw_csv or None),
        )
        if value is not None
    ]
    if ctx.invoked_subcommand is not None:
        if given:
            _fail(
                f"{', '.join(given)}: only for a flow export; options of "
                f"`backbone export {ctx.invoked_subcommand}` go after its name"
            )
        return
    if flow is None or output is None:
        _fail("a flow export needs --flow ID and --output FILE (see `backbone export --help`)")
    from storage.export import export_flow

    fmt = (format or ExportFormat.csv).value
    lay = (layout or Layout.wide).value
    if raw_csv and fmt != "csv":
        _fail(f"--raw-csv: only for CSV files; {fmt} files always keep text as text")
    _run_export(
        lambda db: export_flow(db, flow, fmt, lay, output, campaign_id=campaign, raw_csv=raw_csv)
    )


@export_app.command("polls")
def export_polls(
    session: Annotated[str, typer.Option("--session", help="Join code of the session.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="File to write; CSV puts the summary beside it as <name>.summary.csv.",
        ),
    ],
    format: Annotated[PollExportFormat, typer.Option("--format")] = PollExportFormat.csv,
    raw_csv: Annotated[bool, typer.Option("--raw-csv", help=RAW_CSV_HELP)] = False,
) -> None:
    """Export every vote of a session's polls plus counts per option (pseudonyms only)."""
    from storage.export_polls import export_polls as write_polls

    if raw_csv and format is not PollExportFormat.csv:
        _fail(f"--raw-csv: only for CSV files; {format.value} files always keep text as text")
    _run_export(lambda db: write_polls(db, session, format.value, output, raw_csv=raw_csv))
