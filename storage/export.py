"""Exports of a flow's answers with a codebook: CSV, XLSX or JSON, long or wide layout.

Only pseudonyms leave the database: the identities table is never read (see
storage.export_stream), and a `{first_name}` rendered into a question's wording is masked in
`shown_text`. Runs and answers are read as one streamed query (storage.export_stream) and
written chunk by chunk, so memory stays flat however large the flow is; files are written
under `.part` names and moved into place only when complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from storage import queries
from storage.export_cells import Cells, CsvCells, iso_utc
from storage.export_codebook import codebook, codebook_columns
from storage.export_plan import Plan, build_plan
from storage.export_qdpx import Warn, export_qdpx
from storage.export_rows import Rows
from storage.export_stream import count_rows, stream_rows
from storage.export_writers import (
    CsvWriter,
    ExportRefused,
    ExportWriter,
    FilesExist,
    JsonWriter,
    NoData,
    XlsxWriter,
    codebook_path,
    refuse_existing,
    writing,
)
from storage.export_xlsx import XlsxCells
from storage.models import Campaign, utcnow
from storage.queries import VersionRow
from storage.repo import Database

# iso_utc is imported from here by other modules.
__all__ = [
    "FORMATS",
    "LAYOUTS",
    "ExportRefused",
    "FilesExist",
    "Format",
    "Layout",
    "NoData",
    "Progress",
    "export_flow",
    "export_flow_qdpx",
    "iso_utc",
    "output_paths",
]

Format = Literal["csv", "xlsx", "json"]
Layout = Literal["long", "wide"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "json")
LAYOUTS: tuple[str, ...] = ("long", "wide")
# Told (rows written so far, rows in all) after every chunk.
Progress = Callable[[int, int], None]


def output_paths(fmt: str, output: Path) -> list[Path]:
    """Every file an export to `output` writes (CSV: the codebook beside it)."""
    return [output, codebook_path(output)] if fmt == "csv" else [output]


def _writer(
    fmt: str, output: Path, rows: Rows, head: dict[str, Any], raw_csv: bool, delimiter: str
) -> ExportWriter:
    if fmt == "csv":
        return CsvWriter(output, rows.columns, raw=raw_csv, delimiter=delimiter)
    if fmt == "xlsx":
        return XlsxWriter(output, rows.columns)
    return JsonWriter(output, rows.columns, head)


def _cells(fmt: str, raw_csv: bool, delimiter: str) -> Cells:
    if fmt == "csv":
        return CsvCells(raw_csv, delimiter)
    return XlsxCells() if fmt == "xlsx" else Cells()


def _check(fmt: str, layout: str, delimiter: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (use one of {', '.join(LAYOUTS)})")
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"not a CSV delimiter: {delimiter!r}")


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
    delimiter: str = ",",
    force: bool = False,
    empty_ok: bool = False,
    progress: Progress | None = None,
) -> list[Path]:
    """Write a flow's answers (pseudonyms only) and codebook; returns the files written.

    With `campaign_id`, only the runs that campaign's invitations started are exported.
    CSV text cells that a spreadsheet would run as a formula get a leading apostrophe
    (noted in the codebook) unless `raw_csv`. Existing files are replaced only with `force`
    (else FilesExist, before anything is read); a file that cannot be written raises
    ExportRefused; an export without a single data row
    raises NoData and writes nothing unless `empty_ok` (then: header and codebook).
    """
    _check(fmt, layout, delimiter)
    output = Path(output)
    refuse_existing(output_paths(fmt, output), force)
    versions = await _versions(db, flow_id, campaign_id)
    if not versions:
        raise LookupError(f"no data for flow '{flow_id}'")
    plan = build_plan(flow_id, versions)
    builder = Rows(plan, layout, _cells(fmt, raw_csv, delimiter), transcripts=True)
    head = {"flow": flow_id, "exported_at": iso_utc(utcnow()), "layout": layout}
    if campaign_id is not None:
        head["campaign"] = campaign_id
    ids = [v.id for v in versions]
    total = await count_rows(db, ids, campaign_id, layout) if progress else 0
    with writing(output):
        writer = _writer(fmt, output, builder, head, raw_csv, delimiter)
    try:
        with writing(output):
            count = await _write(db, writer, builder, plan, ids, campaign_id, progress, total)
            if count == 0 and not empty_ok:
                what = f"campaign {campaign_id} of flow" if campaign_id is not None else "flow"
                raise NoData(f"nothing to export: {what} '{flow_id}' has no answers yet")
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


async def _versions(db: Database, flow_id: str, campaign_id: int | None) -> list[VersionRow]:
    async with db.transaction() as repo:
        versions = await queries.flow_versions(repo.session, flow_id)
        if campaign_id is not None:
            campaign = await repo.session.get(Campaign, campaign_id)
            if campaign is None:
                raise LookupError(f"no campaign {campaign_id}")
            if campaign.flow_id != flow_id:
                raise LookupError(
                    f"campaign {campaign_id} is for flow '{campaign.flow_id}', not '{flow_id}'"
                )
    return versions


def _emit(writer: ExportWriter, builder: Rows, chunk: Sequence[Any] | None) -> int:
    rows = builder.feed(chunk) if chunk is not None else builder.close()
    writer.write_rows(rows)
    return len(rows)


async def _write(
    db: Database,
    writer: ExportWriter,
    builder: Rows,
    plan: Plan,
    version_ids: list[int],
    campaign_id: int | None,
    progress: Progress | None,
    total: int,
) -> int:
    """Write all data rows chunk by chunk, then the codebook; returns the row count."""
    count = 0
    # Formatting and writing one chunk runs in a thread while the next chunk is fetched.
    pending: asyncio.Future[int] | None = None
    async for chunk in stream_rows(db, version_ids, campaign_id, transcripts=builder.transcribed):
        if pending is not None:
            count += await pending
            if progress:
                progress(count, total)
        pending = asyncio.ensure_future(asyncio.to_thread(_emit, writer, builder, chunk))
    if pending is not None:
        count += await pending
    count += await asyncio.to_thread(_emit, writer, builder, None)
    if progress:
        progress(count, total)
    columns = codebook_columns(plan)
    await asyncio.to_thread(
        writer.finish, columns, codebook(plan, builder.layout, builder.transcribed)
    )
    return count


async def export_flow_qdpx(
    db: Database,
    flow_id: str,
    output: Path,
    *,
    media_dir: Path,
    actor: str = "cli",
    campaign_id: int | None = None,
    force: bool = False,
    empty_ok: bool = False,
    warn: Warn | None = None,
) -> list[Path]:
    """A flow's answers as a REFI-QDA project (storage.export_qdpx), with the voice notes
    and photos from `media_dir`; the rails of export_flow (FilesExist, NoData, LookupError)."""
    output = Path(output)
    refuse_existing([output], force)
    versions = await _versions(db, flow_id, campaign_id)
    if not versions:
        raise LookupError(f"no data for flow '{flow_id}'")
    plan = build_plan(flow_id, versions)
    options = {"campaign_id": campaign_id, "empty_ok": empty_ok, "actor": actor, "warn": warn}
    return await export_qdpx(db, plan, output, media_dir=media_dir, **options)
