"""`backbone export person-level`: one workbook joining every instrument per pseudonym
(storage.export_person). Registered on `backbone export` by bot.cli_export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli_export import EmptyOkOption, ForceOption, _fail, _run_export, export_app


@export_app.command("person-level")
def export_person_level(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The workbook to write (.xlsx)."),
    ],
    force: ForceOption = False,
    empty_ok: EmptyOkOption = False,
) -> None:
    """Every instrument joined per pseudonym in one workbook (.xlsx).

    Sheets: `joined` (one row per person: each flow's run count and latest run, each named
    poll's vote), one per flow, `polls` (named votes; anonymous ones never), `codebook`.
    Exit status: 0 written; 1 the file exists or cannot be written; 2 wrong options;
    3 nothing to export."""
    from storage.export_person import export_person_level as write

    if output.suffix.lower() != ".xlsx":
        _fail(f"cannot write {output.suffix or 'files without a suffix'}: name the file .xlsx")
    _run_export(lambda db: write(db, output, force=force, empty_ok=empty_ok))
