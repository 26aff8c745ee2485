"""SPSS (.sav) and Stata (.dta) files of a flow's runs and of a poll session's votes.

A flow: one row per run (the wide layout's columns: storage.export's RUN_COLUMNS, then one
column per variable and a 0/1 dummy per multiple-choice option), with the codebook of the
wide export beside it as `<stem>.codebook.csv`. Labels, codes and missing values: see
storage.export_stats.

A poll session: its votes (the columns of storage.export_polls' votes table), the summary
beside it as `<stem>.summary.csv`.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from storage.export_codebook import codebook, codebook_columns
from storage.export_panel import finisher
from storage.export_panel_rows import (
    PSEUDONYM,
    VERSION_ID,
    RunCollector,
    answer_cells,
    run_cells,
    run_columns,
    variable_columns,
)
from storage.export_plan import Plan, build_plan
from storage.export_stats import (
    STATS_FORMATS,
    Column,
    StatsWriter,
    file_columns,
    file_rows,
    write_file,
)
from storage.export_stream import stream_rows
from storage.export_writers import (
    NoData,
    _FileSet,
    _part,
    codebook_path,
    csv_cell,
    csv_file,
    refuse_existing,
    writing,
)
from storage.repo import Database
from storage.stats_spool import Spool


class FlowStatsRows:
    """Typed rows, one per run, in the wide layout's column order."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.vars = variable_columns(plan)
        who = Column("pseudonym", "text", "Pseudonym of the person", answers=False)
        head = run_columns(True)
        flow = Column("flow_id", "text", "Id of the flow", answers=False)
        self.columns = [who, head[0], flow, *head[1:]]
        self.columns += [c for v in self.vars for c in v.columns()]
        self.runs = RunCollector()

    def _rows(self, runs: list[tuple[Sequence[Any], dict]]) -> list[list[Any]]:
        out = []
        for run, answers in runs:
            version = self.plan.versions.get(run[VERSION_ID])
            cells = run_cells(run, version, True)
            answered = answer_cells(self.vars, version, answers)
            out.append([run[PSEUDONYM], cells[0], self.plan.flow_id, *cells[1:], *answered])
        return out

    def feed(self, chunk: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Rows of the runs that ended in this chunk."""
        return self._rows(self.runs.feed(chunk))

    def close(self) -> list[list[Any]]:
        """The last run's row."""
        return self._rows(self.runs.close())


async def export_flow_stats(
    db: Database,
    flow_id: str,
    fmt: str,
    output: Path,
    *,
    actor: str = "cli",
    campaign_id: int | None = None,
    force: bool = False,
    empty_ok: bool = False,
    progress: Any = None,
) -> list[Path]:
    """A flow's runs as an SPSS or Stata file with the codebook CSV beside it; the rails of
    storage.export.export_flow (FilesExist, LookupError, NoData, ExportRefused)."""
    from storage.export import _versions

    if fmt not in STATS_FORMATS:
        raise ValueError(f"not a statistics format: {fmt!r}")
    output = Path(output)
    refuse_existing([output, codebook_path(output)], force)
    versions = await _versions(db, flow_id, campaign_id)
    if not versions:
        raise LookupError(f"no data for flow '{flow_id}'")
    plan = build_plan(flow_id, versions)
    builder = FlowStatsRows(plan)
    with writing(output):
        writer = StatsWriter(output, fmt, builder.columns, f"{flow_id}")
    finish = finisher(fmt, builder.columns, False, ",")
    count = 0
    try:
        with writing(output):
            async for chunk in stream_rows(db, [v.id for v in versions], campaign_id):
                rows = builder.feed(chunk)
                writer.write_rows(finish(rows))
                count += len(rows)
                if progress:
                    progress(count, 0)
            rows = builder.close()
            writer.write_rows(finish(rows))
            count += len(rows)
            if count == 0 and not empty_ok:
                what = f"campaign {campaign_id} of flow" if campaign_id is not None else "flow"
                raise NoData(f"nothing to export: {what} '{flow_id}' has no answers yet")
            book = codebook(plan, "wide")
            await asyncio.to_thread(writer.finish, codebook_columns(plan), book)
            written = writer.commit()
    except BaseException:
        writer.abort()
        raise
    async with db.transaction() as repo:
        details: dict[str, Any] = {"flow": flow_id, "format": fmt, "layout": "wide"}
        details["rows"] = count
        if campaign_id is not None:
            details["campaign"] = campaign_id
        await repo.audit(actor, "export", details)
    return written


def vote_columns() -> list[Column]:
    """The votes table's columns (storage.export_polls.VOTE_COLUMNS) with kinds and labels."""
    anonymous = Column("anonymous", "int", "1 if the poll was anonymous", answers=False)
    anonymous.labels = {1: "anonymous", 0: "pseudonymous"}
    text = ("session", "question", "poll_type", "voter", "option_code", "option_label")
    kinds = dict.fromkeys(text, "text") | {"poll_id": "int", "poll_position": "int"}
    kinds |= {"voted_at": "stamp", "updated_at": "stamp"}
    from storage.export_polls import VOTE_COLUMNS

    return [
        anonymous if name == "anonymous" else Column(name, kinds[name], name, answers=False)
        for name in VOTE_COLUMNS
    ]


def _write_votes(output: Path, fmt: str, code: str, votes: list, summary: list) -> list[Path]:
    from storage.export_polls import SUMMARY_COLUMNS, summary_path

    columns, companion = file_columns(vote_columns(), fmt)
    files = _FileSet([output, summary_path(output)])
    try:
        with Spool(len(columns), output.parent) as spool:
            for start in range(0, len(votes), 1000):
                spool.add(file_rows(columns, companion, votes[start : start + 1000]))
            write_file(_part(output), fmt, columns, spool, f"session {code}")
        with csv_file(_part(files.paths[1])) as fh:
            out = csv.writer(fh)
            out.writerow(list(SUMMARY_COLUMNS))
            out.writerows([[csv_cell(v) for v in row] for row in summary])
        return files.commit()
    except BaseException:
        files.abort()
        raise


async def export_polls_stats(
    db: Database,
    session_code: str,
    fmt: str,
    output: Path,
    *,
    actor: str = "cli",
    force: bool = False,
    empty_ok: bool = False,
) -> list[Path]:
    """A session's votes as an SPSS or Stata file, the summary CSV beside it; the rails of
    storage.export_polls.export_polls."""
    from storage.export_polls import _load, _summary_rows, _vote_rows, summary_path

    output = Path(output)
    refuse_existing([output, summary_path(output)], force)
    async with db.transaction() as repo:
        data = await _load(repo.session, session_code.strip().upper())
    if data is None:
        raise LookupError(f"no session with code {session_code}")
    votes = _vote_rows(data)
    if not votes and not empty_ok:
        raise NoData(f"nothing to export: session {data.code} has no votes yet")
    with writing(output):
        written = await asyncio.to_thread(
            _write_votes, output, fmt, data.code, votes, _summary_rows(data)
        )
    async with db.transaction() as repo:
        details = {"session": data.code, "format": fmt, "rows": len(votes)}
        await repo.audit(actor, "export_polls", details)
    return written
