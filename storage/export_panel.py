"""Panel exports: a flow's runs linked across waves by pseudonym (`backbone export panel`).

A wave is one round of the flow: the run's campaign, or, for a run outside any campaign, the
half-year the run started in (UTC), named like `2026-H2` (`period="months"`: the month,
`2026-11`). Waves are numbered w1, w2, ... by
their first run's start. A person with more than one run in a wave is represented by the
newest (highest run id).

* wide: one row per pseudonym; per wave (w1 block, then w2, ...) the run's cells and one
  column per variable, named `<variable>__w<n>` (`plan__w1`, `support__mentor__w2`).
* long: one row per pseudonym and wave in which the person has a run, with `wave` (w1, ...)
  and `wave_name` columns and the variables as columns (the usual long panel layout).

The codebook has one entry per column with the wording the wave's runs saw, every version's
wording, and `wording_changed` / `changed_in` where it differs from the version before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import distinct, func, select

from storage.export_cells import Cells, CsvCells, iso_stamp, iso_utc
from storage.export_panel_book import panel_codebook, panel_codebook_columns
from storage.export_panel_rows import (
    RunCollector,
    VarColumns,
    answer_cells,
    finish_cell,
    run_cells,
    run_columns,
    suffixed,
    variable_columns,
)
from storage.export_plan import Plan, build_plan
from storage.export_stats import NO_RUN, STATS_FORMATS, Column, StatsWriter
from storage.export_stream import PSEUDONYM, STARTED, VERSION_ID, _sqlite_chunks, reading
from storage.export_writers import (
    CsvWriter,
    ExportWriter,
    JsonWriter,
    NoData,
    XlsxWriter,
    codebook_path,
    refuse_existing,
    writing,
)
from storage.export_xlsx import XlsxCells
from storage.models import Answer, Campaign, Run, utcnow
from storage.repo import Database

PANEL_FORMATS: tuple[str, ...] = ("csv", "xlsx", "json", *STATS_FORMATS)
CAMPAIGN = 15  # position of the run's campaign id in a streamed panel row


@dataclass
class Wave:
    """One round of the flow: a campaign or a half-year."""

    key: Any  # ("campaign", id) or ("period", "2026-H2")
    name: str
    first: str  # the first run's start (ISO), for the order
    versions: set[int] = field(default_factory=set)
    label: str = ""  # w1, w2, ...


def half_year(stamp: str) -> str:
    """The named period of a run outside campaigns: `2026-H1` (Jan-Jun) or `2026-H2`."""
    return f"{stamp[:4]}-H{1 if int(stamp[5:7]) <= 6 else 2}"


def month(stamp: str) -> str:
    """The named period with `--period months`: `2026-11`."""
    return stamp[:7]


PERIODS = {"half-years": half_year, "months": month}


def wave_key(row: Sequence[Any], period: str = "half-years") -> Any:
    """The wave of a streamed run row (campaign id, else the period of its start, UTC)."""
    if row[CAMPAIGN] is not None:
        return ("campaign", row[CAMPAIGN])
    return ("period", PERIODS[period](iso_stamp(row[STARTED]) or "0000-01"))


def _month(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)


async def load_waves(
    db: Database, version_ids: Sequence[int], period: str = "half-years"
) -> list[Wave]:
    """The flow's waves in order, each with the versions its runs used."""
    async with reading(db) as conn:
        month = _month(Run.started_at, conn.dialect.name)
        stmt = (
            select(Run.campaign_id, month, Run.flow_version_id, func.min(Run.started_at))
            .where(Run.flow_version_id.in_(list(version_ids)))
            .group_by(Run.campaign_id, month, Run.flow_version_id)
        )
        found = (await conn.execute(stmt)).all()
        starts = dict((await conn.execute(select(Campaign.id, Campaign.start_at))).all())
    waves: dict[Any, Wave] = {}
    for campaign_id, ym, version_id, first in found:
        if campaign_id is not None:
            key: Any = ("campaign", campaign_id)
            start = iso_utc(starts.get(campaign_id)) if starts.get(campaign_id) else None
            name = f"campaign {campaign_id}" + (f" ({start[:10]})" if start else "")
        else:
            key = ("period", PERIODS[period](f"{ym}-01"))
            name = key[1]
        first = iso_stamp(first) or ""
        wave = waves.setdefault(key, Wave(key, name, first))
        wave.first = min(wave.first, first)
        wave.versions.add(version_id)
    ordered = sorted(waves.values(), key=lambda w: (w.first, str(w.key)))
    for i, wave in enumerate(ordered, start=1):
        wave.label = f"w{i}"
    return ordered


async def stream_panel(
    db: Database, version_ids: Sequence[int]
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """The export's rows plus each run's campaign, one person's runs after the other."""
    from storage.export_stream import rows_statement

    async with reading(db) as conn:
        stmt = rows_statement(version_ids, None, conn.dialect.name).add_columns(Run.campaign_id)
        stmt = stmt.order_by(None).order_by(Run.participant_id, Run.id, Answer.id)
        if conn.dialect.name == "sqlite":
            async for part in _sqlite_chunks(conn, stmt):
                yield part
            return
        result = await conn.stream(stmt.execution_options(yield_per=5000))
        async for part in result.partitions():
            yield part


class PanelRows:
    """Typed rows of a panel from the streamed runs (one person at a time)."""

    def __init__(
        self, plan: Plan, waves: list[Wave], layout: str, period: str = "half-years"
    ) -> None:
        self.plan, self.waves, self.layout, self.period = plan, waves, layout, period
        self.index = {w.key: i for i, w in enumerate(waves)}
        self.vars: list[VarColumns] = variable_columns(plan)
        block = [*run_columns(False), *(c for v in self.vars for c in v.columns())]
        who = Column("pseudonym", "text", "Pseudonym of the person", answers=False)
        if layout == "wide":
            self.columns = [who]
            for w in waves:
                self.columns += suffixed(block, w.label, f"[{w.label}] ")
        else:
            wave = Column("wave", "code", "Wave", answers=False)
            wave.codes = {w.label: i for i, w in enumerate(waves, start=1)}
            wave.labels = {i: f"{w.label}: {w.name}" for i, w in enumerate(waves, start=1)}
            name = Column("wave_name", "text", "Campaign or period of the wave", answers=False)
            self.columns = [who, wave, name, *block]
        self.width = len(block)
        self.runs = RunCollector()
        self._who: Any = None
        self._mine: dict[int, list[Any]] = {}

    def _block(self, run: Sequence[Any], answers: dict) -> list[Any]:
        version = self.plan.versions.get(run[VERSION_ID])
        return [*run_cells(run, version, False), *answer_cells(self.vars, version, answers)]

    def _person(self, out: list[list[Any]]) -> None:
        if self._who is None:
            return
        if self.layout == "wide":
            row = [self._who]
            for i in range(len(self.waves)):
                row += self._mine.get(i) or [NO_RUN] * self.width
            out.append(row)
        else:
            for i in sorted(self._mine):
                wave = self.waves[i]
                out.append([self._who, wave.label, wave.name, *self._mine[i]])
        self._who, self._mine = None, {}

    def _take(self, runs: list[tuple[Sequence[Any], dict]], out: list[list[Any]]) -> None:
        for run, answers in runs:
            if run[PSEUDONYM] != self._who:
                self._person(out)
                self._who = run[PSEUDONYM]
            # Runs come in id order: a later run of the same wave replaces the earlier one.
            wave = self.index[wave_key(run, self.period)]
            self._mine[wave] = self._block(run, answers)

    def feed(self, chunk: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Rows of the people complete before this chunk's last run."""
        out: list[list[Any]] = []
        self._take(self.runs.feed(chunk), out)
        return out

    def close(self) -> list[list[Any]]:
        """The rows of the last person."""
        out: list[list[Any]] = []
        self._take(self.runs.close(), out)
        self._person(out)
        return out


def _cells(fmt: str, raw_csv: bool, delimiter: str) -> Cells:
    if fmt == "csv":
        return CsvCells(raw_csv, delimiter)
    return XlsxCells() if fmt == "xlsx" else Cells()


def panel_writer(
    fmt: str, output: Path, columns: list[Column], head: dict[str, Any], options: dict
) -> ExportWriter:
    """The file writer of a panel or stats export."""
    names = [c.name for c in columns]
    if fmt in STATS_FORMATS:
        return StatsWriter(output, fmt, columns, head.get("title", ""))
    if fmt == "csv":
        return CsvWriter(output, names, raw=options["raw_csv"], delimiter=options["delimiter"])
    return XlsxWriter(output, names) if fmt == "xlsx" else JsonWriter(output, names, head)


def output_paths(fmt: str, output: Path) -> list[Path]:
    """Every file a panel or stats export writes (CSV, .sav, .dta: the codebook beside it)."""
    return [output] if fmt in ("xlsx", "json") else [output, codebook_path(output)]


def finisher(fmt: str, columns: list[Column], raw_csv: bool, delimiter: str) -> Any:
    """rows -> rows the format's writer takes (stats files keep typed values)."""
    if fmt in STATS_FORMATS:
        return lambda rows: rows
    cells = _cells(fmt, raw_csv, delimiter)

    def finish(rows: list[list[Any]]) -> list[list[Any]]:
        return [
            [finish_cell(cells, c, v) for c, v in zip(columns, row, strict=True)] for row in rows
        ]

    return finish


async def export_panel(
    db: Database,
    flow_id: str,
    fmt: str,
    layout: str,
    output: Path,
    *,
    actor: str = "cli",
    raw_csv: bool = False,
    delimiter: str = ",",
    force: bool = False,
    empty_ok: bool = False,
    progress: Any = None,
    period: str = "half-years",
) -> list[Path]:
    """Write a flow's panel (pseudonyms only) and its codebook; returns the files written.

    The rails of storage.export.export_flow: FilesExist unless `force`, LookupError for an
    unknown flow, NoData without runs unless `empty_ok`, ExportRefused for a file that
    cannot be written."""
    from storage.export import _versions

    if fmt not in PANEL_FORMATS or layout not in ("wide", "long") or period not in PERIODS:
        raise ValueError(f"unknown panel format, layout or period: {fmt!r}, {layout!r}, {period!r}")
    output = Path(output)
    refuse_existing(output_paths(fmt, output), force)
    versions = await _versions(db, flow_id, None)
    if not versions:
        raise LookupError(f"no data for flow '{flow_id}'")
    plan = build_plan(flow_id, versions)
    ids = [v.id for v in versions]
    waves = await load_waves(db, ids, period)
    builder = PanelRows(plan, waves, layout, period)
    head = {"flow": flow_id, "exported_at": iso_utc(utcnow()), "layout": f"panel {layout}"}
    head["title"] = f"{flow_id} panel ({layout})"
    opts = {"raw_csv": raw_csv, "delimiter": delimiter}
    with writing(output):
        writer = panel_writer(fmt, output, builder.columns, head, opts)
    finish = finisher(fmt, builder.columns, raw_csv, delimiter)
    total = await _people(db, ids) if progress else 0
    try:
        with writing(output):
            count = 0
            async for chunk in stream_panel(db, ids):
                count += await asyncio.to_thread(_emit, writer, finish, builder.feed(chunk))
                if progress:
                    progress(count, total)
            count += await asyncio.to_thread(_emit, writer, finish, builder.close())
            if count == 0 and not empty_ok:
                raise NoData(f"nothing to export: flow '{flow_id}' has no runs yet")
            book = panel_codebook(plan, builder, layout)
            await asyncio.to_thread(writer.finish, panel_codebook_columns(), book)
            written = writer.commit()
    except BaseException:
        writer.abort()
        raise
    async with db.transaction() as repo:
        details = {"flow": flow_id, "format": fmt, "layout": f"panel {layout}", "rows": count}
        await repo.audit(actor, "export", details)
    return written


def _emit(writer: ExportWriter, finish: Any, rows: list[list[Any]]) -> int:
    writer.write_rows(finish(rows))
    return len(rows)


async def _people(db: Database, version_ids: Sequence[int]) -> int:
    async with reading(db) as conn:
        stmt = select(func.count(distinct(Run.participant_id)))
        stmt = stmt.where(Run.flow_version_id.in_(list(version_ids)))
        return int(await conn.scalar(stmt) or 0)
