"""`backbone export`: a flow's answers with a codebook, or a session's poll votes."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli_common import _fail, _settings, _with_db

if TYPE_CHECKING:
    from storage.repo import Database

# Exit status of an export that found nothing to write (see --empty-ok).
NO_DATA = 3


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"
    qdpx = "qdpx"
    sav = "sav"
    dta = "dta"


class Layout(StrEnum):
    long = "long"
    wide = "wide"


class PollExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    sav = "sav"
    dta = "dta"


class Period(StrEnum):
    half_years = "half-years"
    months = "months"


class PanelFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"
    sav = "sav"
    dta = "dta"


STATS = ("sav", "dta")


RAW_CSV_HELP = (
    "Write CSV cells exactly as stored. By default a text cell starting with = + - @, a tab "
    "or a carriage return gets a leading apostrophe, so spreadsheets do not run it as a formula."
)
FORMAT_HELP = (
    "Only needed when the file name does not end in {names}: the format follows the suffix, "
    "and a --format that contradicts it is refused. Other names: CSV unless --format."
)
EXCEL_HELP = (
    "CSV for German (and other European) Excel: ';' between cells instead of ','. Every CSV "
    "is UTF-8 with a byte-order mark, which Excel needs to show umlauts right; decimal "
    "numbers keep their point. Same as --delimiter ';'."
)
DELIMITER_HELP = "CSV cell separator: one character, e.g. ';' ('tab' for a tab). Default ','."
FORCE_HELP = "Replace files that already exist (the data file and the one beside it)."
EMPTY_OK_HELP = (
    "With nothing to export yet, still write the files with the header (and codebook), e.g. "
    f"before fieldwork starts. Without it: a one-line message and exit status {NO_DATA}."
)
EXIT_HELP = (
    f"Exit status: 0 written; 1 unknown flow, campaign or session, or a file exists; "
    f"2 wrong options; {NO_DATA} nothing to export."
)

export_app = typer.Typer(
    help="Export data for analysis (pseudonyms only, never Telegram ids or names).\n\n"
    "A flow's answers with a codebook (--layout wide|long; the format follows the file "
    "name: .csv, .xlsx or .json; .qdpx: a REFI-QDA project for MAXQDA, ATLAS.ti, NVivo or "
    "QualCoder with the voice notes and photos; .sav / .dta: SPSS / Stata with labels):\n\n"
    "  backbone export --flow ID --output FILE\n\n"
    "A flow's runs linked across waves (campaigns, or half-years outside campaigns) by "
    "pseudonym, one row per person (wide) or per person and wave (long):\n\n"
    "  backbone export panel --flow ID --output FILE [--layout wide|long]\n\n"
    "A live-poll session's votes with a summary per option (.csv, .xlsx, .sav or .dta):\n\n"
    "  backbone export polls --session CODE --output FILE\n\n"
    "Existing files are kept unless --force; --excel writes CSV for German Excel. "
    "A progress bar shows on a terminal (stderr). " + EXIT_HELP,
    invoke_without_command=True,
    no_args_is_help=True,
)

ForceOption = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]
EmptyOkOption = Annotated[bool, typer.Option("--empty-ok", help=EMPTY_OK_HELP)]
ExcelOption = Annotated[bool, typer.Option("--excel", help=EXCEL_HELP)]
DelimiterOption = Annotated[str | None, typer.Option("--delimiter", help=DELIMITER_HELP)]
RawCsvOption = Annotated[bool, typer.Option("--raw-csv", help=RAW_CSV_HELP)]


# Spreadsheet files these exports cannot write: refused rather than CSV under their name
# (and .json where an export has no JSON).
OTHER_SHEETS = (".xls", ".xlsm", ".xlsb", ".ods", ".numbers")


def chosen_format(output: Path, given: str | None, formats: tuple[str, ...]) -> str:
    """The format of `output`: its suffix; --format (default CSV) where the suffix says
    nothing; a contradicting --format, or another spreadsheet's suffix, is refused."""
    suffix = output.suffix.lower()
    # Asked for another spreadsheet, a QDA project or a statistics file is no answer: not
    # suggested.
    sheets = [f for f in formats if f not in ("qdpx", "sav", "dta")]
    names = " or ".join(", ".join(f".{f}" for f in sheets).rsplit(", ", 1))
    if suffix.lstrip(".") in formats:
        if given is not None and given != suffix.lstrip("."):
            _fail(
                f"--format {given} does not match the file name {output.name}: "
                f"name it .{given}, or leave out --format"
            )
        return suffix.lstrip(".")
    if suffix in OTHER_SHEETS or suffix == ".json":
        _fail(f"cannot write {suffix} files: name the file {names}")
    return given or "csv"


def chosen_delimiter(fmt: str, excel: bool, delimiter: str | None, raw_csv: bool) -> str:
    """The CSV delimiter from --excel / --delimiter; both refused for other formats."""
    for name, used in (("--excel", excel), ("--delimiter", delimiter), ("--raw-csv", raw_csv)):
        if used and fmt != "csv":
            _fail(f"{name}: only for CSV files; {fmt} files always keep text as text")
    if delimiter is None:
        return ";" if excel else ","
    value = "\t" if delimiter.lower() in ("tab", "\\t") else delimiter
    if len(value) != 1 or value in "\"'\r\n" or value.isalnum():
        _fail(f"--delimiter: one character such as ';' or 'tab', not {delimiter!r}")
    if excel and value != ";":
        _fail("--excel already means --delimiter ';'")
    return value


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr while exporting, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total or None)


def _run_export(go: Callable[[Database], Awaitable[list[Path]]]) -> None:
    """Run an export against the configured database; print the files, or why not."""
    from storage.export import ExportRefused, NoData

    async def answered(db: Database) -> list[Path] | tuple[int, str]:
        # A refusal comes back as a value: raised, an OSError behind it (a file that cannot
        # be written) would be taken for a database that cannot be reached.
        try:
            return await go(db)
        except NoData as exc:
            return NO_DATA, f"{exc} (--empty-ok writes the files with their header anyway)"
        except (LookupError, ExportRefused) as exc:
            return 1, str(exc.args[0] if exc.args else exc)

    result = _with_db(_settings(), answered, refused=())
    if isinstance(result, tuple):
        _fail(result[1], code=result[0])
    for path in result:
        typer.echo(f"wrote {path}")


def _flow_only(ctx: typer.Context, values: dict[str, Any]) -> None:
    """Flow options given before a subcommand are refused rather than silently ignored."""
    given = [name for name, value in values.items() if value not in (None, False)]
    if given:
        _fail(
            f"{', '.join(given)}: only for a flow export; options of "
            f"`backbone export {ctx.invoked_subcommand}` go after its name"
        )


def _export_stats(flow: str, output: Path, fmt: str, layout: Layout | None, options: dict) -> None:
    """A flow's runs as an SPSS or Stata file (one row per run)."""
    from storage.export_flow_stats import export_flow_stats

    if layout is Layout.long:
        _fail(f"--layout long: not for .{fmt} files (one row per run; see `export panel`)")
    with progress_bar("exporting") as tick:
        _run_export(lambda db: export_flow_stats(db, flow, fmt, output, **options, progress=tick))


def _warn(text: str) -> None:
    typer.echo(f"warning: {text}", err=True)


def _export_qdpx(
    flow: str, output: Path, layout: Layout | None, options: dict[str, Any], empty_ok: bool
) -> None:
    """A REFI-QDA project with the media from MEDIA_DIR; a missing file is a warning line."""
    from storage.export import export_flow_qdpx

    if layout is not None:
        _fail("--layout: not for .qdpx files (one case per person, one text source each)")
    media = _settings().media_dir
    _run_export(
        lambda db: export_flow_qdpx(
            db, flow, output, media_dir=media, empty_ok=empty_ok, warn=_warn, **options
        )
    )


@export_app.callback()
def export(
    ctx: typer.Context,
    flow: Annotated[
        str | None, typer.Option("--flow", help="Flow id: export this flow's answers.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write; CSV puts the codebook beside it as <name>.codebook.csv.",
        ),
    ] = None,
    format: Annotated[
        ExportFormat | None,
        typer.Option("--format", help=FORMAT_HELP.format(names=".csv, .xlsx, .json or .qdpx")),
    ] = None,
    layout: Annotated[
        Layout | None,
        typer.Option("--layout", help="wide: one row per run (default); long: one per answer."),
    ] = None,
    campaign: Annotated[
        int | None, typer.Option("--campaign", help="Only the runs this campaign started.")
    ] = None,
    raw_csv: RawCsvOption = False,
    excel: ExcelOption = False,
    delimiter: DelimiterOption = None,
    force: ForceOption = False,
    empty_ok: EmptyOkOption = False,
) -> None:
    """Export a flow's answers (pseudonyms only) with a codebook, or a session's poll votes."""
    options = {"--flow": flow, "--output": output, "--format": format, "--layout": layout}
    options |= {"--campaign": campaign, "--raw-csv": raw_csv, "--excel": excel}
    options |= {"--delimiter": delimiter, "--force": force, "--empty-ok": empty_ok}
    if ctx.invoked_subcommand is not None:
        _flow_only(ctx, options)
        return
    if flow is None or output is None:
        _fail("a flow export needs --flow ID and --output FILE (see `backbone export --help`)")
    from storage.export import FORMATS, export_flow

    fmt = chosen_format(output, format.value if format else None, (*FORMATS, "qdpx", *STATS))
    sep = chosen_delimiter(fmt, excel, delimiter, raw_csv)
    if fmt == "qdpx":
        _export_qdpx(flow, output, layout, {"campaign_id": campaign, "force": force}, empty_ok)
        return
    if fmt in STATS:
        stats = {"campaign_id": campaign, "force": force, "empty_ok": empty_ok}
        _export_stats(flow, output, fmt, layout, stats)
        return
    lay = (layout or Layout.wide).value
    options = {"campaign_id": campaign, "raw_csv": raw_csv, "delimiter": sep, "force": force}
    with progress_bar("exporting") as tick:
        _run_export(
            lambda db: export_flow(
                db, flow, fmt, lay, output, **options, empty_ok=empty_ok, progress=tick
            )
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
    format: Annotated[
        PollExportFormat | None,
        typer.Option("--format", help=FORMAT_HELP.format(names=".csv or .xlsx")),
    ] = None,
    raw_csv: RawCsvOption = False,
    excel: ExcelOption = False,
    delimiter: DelimiterOption = None,
    force: ForceOption = False,
    empty_ok: EmptyOkOption = False,
) -> None:
    """Export every vote of a session's polls plus counts per option (pseudonyms only)."""
    from storage.export_polls import POLL_FORMATS
    from storage.export_polls import export_polls as write_polls

    fmt = chosen_format(output, format.value if format else None, (*POLL_FORMATS, *STATS))
    sep = chosen_delimiter(fmt, excel, delimiter, raw_csv)
    if fmt in STATS:
        from storage.export_flow_stats import export_polls_stats

        stats = {"force": force, "empty_ok": empty_ok}
        _run_export(lambda db: export_polls_stats(db, session, fmt, output, **stats))
        return
    options = {"raw_csv": raw_csv, "delimiter": sep, "force": force, "empty_ok": empty_ok}
    _run_export(lambda db: write_polls(db, session, fmt, output, **options))


PANEL_HELP = (
    "File to write (.csv, .xlsx, .json, .sav or .dta); CSV, .sav and .dta put the codebook "
    "beside it as <name>.codebook.csv."
)


@export_app.command("panel")
def export_panel(
    flow: Annotated[str, typer.Option("--flow", help="Flow id: export this flow's panel.")],
    output: Annotated[Path, typer.Option("--output", "-o", help=PANEL_HELP)],
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            help="wide: one row per person, columns <variable>__w1, __w2, ... (default); "
            "long: one row per person and wave, with a `wave` column.",
        ),
    ] = Layout.wide,
    period: Annotated[
        Period,
        typer.Option(
            "--period",
            help="The wave of a run outside any campaign: the half-year it started in "
            "(2026-H2, default) or its month (2026-11). A campaign is always one wave.",
        ),
    ] = Period.half_years,
    format: Annotated[
        PanelFormat | None,
        typer.Option("--format", help=FORMAT_HELP.format(names=".csv, .xlsx, .json, .sav or .dta")),
    ] = None,
    raw_csv: RawCsvOption = False,
    excel: ExcelOption = False,
    delimiter: DelimiterOption = None,
    force: ForceOption = False,
    empty_ok: EmptyOkOption = False,
) -> None:
    """Export a flow's runs linked across waves by pseudonym (a wave: a campaign, or the
    half-year, e.g. 2026-H2, of a run outside campaigns), with a codebook showing where the
    wording changed between versions."""
    from storage.export_panel import PANEL_FORMATS
    from storage.export_panel import export_panel as write_panel

    fmt = chosen_format(output, format.value if format else None, PANEL_FORMATS)
    sep = chosen_delimiter(fmt, excel, delimiter, raw_csv)
    options = {"raw_csv": raw_csv, "delimiter": sep, "force": force, "empty_ok": empty_ok}
    options["period"] = period.value
    with progress_bar("exporting") as tick:
        _run_export(
            lambda db: write_panel(db, flow, fmt, layout.value, output, **options, progress=tick)
        )


import bot.cli_export_person  # noqa: E402, F401 (registers `backbone export person-level`)
