"""Exports of a flow's answers with a codebook: CSV, XLSX or JSON, long or wide layout.

Only pseudonyms leave the database: the identities table is never read (see storage.queries),
and a `{first_name}` rendered into a question's wording is masked in `shown_text`.
Runs are read in one query, answers in chunks of runs; every chunk is a short transaction so
an export of a live SQLite database never holds the write lock for long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from storage import queries
from storage.export_codebook import codebook, codebook_columns
from storage.export_plan import Plan, build_plan
from storage.export_rows import Rows, iso_utc
from storage.export_writers import CsvWriter, ExportWriter, JsonWriter, XlsxWriter
from storage.models import Campaign, Run, utcnow
from storage.queries import AnswerRow, RunRow, VersionRow
from storage.repo import Database

# iso_utc is imported from here by other modules.
__all__ = ["FORMATS", "LAYOUTS", "Format", "Layout", "export_flow", "iso_utc"]

Format = Literal["csv", "xlsx", "json"]
Layout = Literal["long", "wide"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "json")
LAYOUTS: tuple[str, ...] = ("long", "wide")

# Runs per answers query: well below the bind-parameter limits of SQLite and PostgreSQL.
RUN_CHUNK = 500


# --------------------------------------------------------------------------- export


def _writer(
    fmt: str, output: Path, rows: Rows, head: dict[str, Any], raw_csv: bool
) -> ExportWriter:
    if fmt == "csv":
        return CsvWriter(output, rows.columns, rows.separators, raw=raw_csv)
    if fmt == "xlsx":
        return XlsxWriter(output, rows.columns, rows.separators)
    return JsonWriter(output, rows.columns, head)


def _emit(
    writer: ExportWriter, builder: Rows, runs: Sequence[RunRow], answers: Sequence[AnswerRow]
) -> int:
    by_run: dict[int, list[AnswerRow]] = {run.run_id: [] for run in runs}
    for answer in answers:
        by_run[answer.run_id].append(answer)
    rows = [row for run in runs for row in builder.rows(run, by_run[run.run_id])]
    writer.write_rows(rows)
    return len(rows)


async def export_flow(
    db: Database,
    flow_id: str,
    fmt: Format,
    layout: Layout,
    output: Path,
    *,
    actor: str = "cli",
    campaign_id: int | None = None,
    raw_csv: bool = False,
) -> list[Path]:
    """Write a flow's answers (pseudonyms only) and codebook; returns the files written.

    With `campaign_id`, only the runs that campaign's invitations started are exported.
    CSV text cells that a spreadsheet would run as a formula get a leading apostrophe
    (noted in the codebook) unless `raw_csv`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (use one of {', '.join(LAYOUTS)})")
    output = Path(output)
    versions, runs = await _versions_and_runs(db, flow_id, campaign_id)
    if not versions:
        raise LookupError(f"no data for flow '{flow_id}'")

    plan = build_plan(flow_id, versions)
    builder = Rows(plan, layout)
    head = {"flow": flow_id, "exported_at": iso_utc(utcnow()), "layout": layout}
    if campaign_id is not None:
        head["campaign"] = campaign_id
    writer = _writer(fmt, output, builder, head, raw_csv)
    try:
        count = await _write(db, writer, builder, plan, runs)
        written = writer.commit()
    except BaseException:
        writer.abort()
        raise
    async with db.transaction() as repo:
        details = {"flow": flow_id, "format": fmt, "layout": layout, "rows": count}
        if campaign_id is not None:
            details["campaign"] = campaign_id
        await repo.audit(actor, "export", details)
    return written


async def _versions_and_runs(
    db: Database, flow_id: str, campaign_id: int | None
) -> tuple[list[VersionRow], list[RunRow]]:
    async with db.transaction() as repo:
        versions = await queries.flow_versions(repo.session, flow_id)
        runs = await queries.runs_of_flow(repo.session, flow_id) if versions else []
        if campaign_id is not None:
            campaign = await repo.session.get(Campaign, campaign_id)
            if campaign is None:
                raise LookupError(f"no campaign {campaign_id}")
            if campaign.flow_id != flow_id:
                raise LookupError(
                    f"campaign {campaign_id} is for flow '{campaign.flow_id}', not '{flow_id}'"
                )
            chosen = set(
                await repo.session.scalars(select(Run.id).where(Run.campaign_id == campaign_id))
            )
            runs = [r for r in runs if r.run_id in chosen]
    return versions, runs


async def _write(
    db: Database, writer: ExportWriter, builder: Rows, plan: Plan, runs: Sequence[RunRow]
) -> int:
    """Write all data rows chunk by chunk, then the codebook; returns the row count."""
    count = 0
    for start in range(0, len(runs), RUN_CHUNK):
        chunk = runs[start : start + RUN_CHUNK]
        async with db.transaction() as repo:
            answers = await queries.answers_of_runs(repo.session, [r.run_id for r in chunk])
        # Formatting and file writes run in a thread so a bot sharing the loop stays live.
        count += await asyncio.to_thread(_emit, writer, builder, chunk, answers)
    columns = codebook_columns(plan)
    await asyncio.to_thread(writer.finish, columns, codebook(plan, builder.layout))
    return count
