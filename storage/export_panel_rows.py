"""Typed rows for panel exports and SPSS/Stata files: a run's answers as one block of cells.

Unlike storage.export_rows (finished text cells, skipped answers left blank), the cells here
stay typed and keep why an answer is missing: SKIPPED (the person skipped it), NOT_ASKED (no
answer stored: condition false, run ended before, or the run's version lacks the question)
and NO_RUN (panel wide: no run in that wave). `finish_cell` turns them into the cells of
CSV, XLSX or JSON (all missing kinds blank there); storage.export_stats into SPSS/Stata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flows.model import StepType
from storage import export_stream
from storage.export_cells import CODE_SEPARATOR, Cells, iso_stamp
from storage.export_plan import Plan, Variable, Version
from storage.export_rows import _decoded, typed_value
from storage.export_stats import NO_RUN, NOT_ASKED, SKIPPED, Column, Marker
from storage.export_stream import (
    FINISHED,
    PSEUDONYM,
    RUN_ID,
    RUN_LOCALE,
    STARTED,
    STATUS,
    STEP_ID,
    VALUE,
    VERSION_ID,
)

# Position of the skipped flag in a streamed row (SKIPPED here is the missing-kind marker).
SKIPPED_AT = export_stream.SKIPPED

_KINDS = {
    StepType.SINGLE_CHOICE: "code",
    StepType.MULTIPLE_CHOICE: "text",
    StepType.SCALE: "number",
    StepType.NUMBER: "number",
    StepType.YES_NO: "yesno",
    StepType.DATE: "date",
}


def wording(version: Version, step_id: str, locale: str) -> str:
    """A question's wording in one version and language (falling back to the source)."""
    return version.flow.text(f"{step_id}.text", locale)


@dataclass
class VarColumns:
    """The columns of one variable: its value and (multiple choice) one dummy per option."""

    var: Variable
    main: Column
    dummies: list[tuple[str, Column]] = field(default_factory=list)

    def columns(self) -> list[Column]:
        """Value column first, then the dummies."""
        return [self.main, *(c for _, c in self.dummies)]


def variable_columns(plan: Plan) -> list[VarColumns]:
    """One VarColumns per variable of the plan, labelled in the flow's source language."""
    source = plan.source_language
    out: list[VarColumns] = []
    for var in plan.variables:
        version, step = var.latest
        types = {s.type for _, s in var.seen}
        # A question whose type changed between versions is exported as text.
        kind = _KINDS.get(step.type, "text") if len(types) == 1 else "text"
        main = Column(var.column, kind, wording(version, var.step_id, source))
        if kind == "code":
            labels: dict[str, str] = {}
            for v, s in var.seen:
                for code in s.options:
                    labels[code] = v.flow.text(f"{s.id}.option.{code}", source)
            # Codes in the order first offered: the same option keeps its number.
            main.codes = {code: i for i, code in enumerate(labels, start=1)}
            main.labels = {main.codes[code]: text for code, text in labels.items()}
        cols = VarColumns(var, main)
        for code, name in var.dummies.items():
            flow, s = next((v.flow, s) for v, s in reversed(var.seen) if code in s.options)
            text = flow.text(f"{s.id}.option.{code}", source)
            cols.dummies.append((code, Column(name, "dummy", f"{main.label}: {text}")))
        out.append(cols)
    return out


def suffixed(columns: Sequence[Column], suffix: str, prefix: str = "") -> list[Column]:
    """Copies of `columns` named `<name>__<suffix>`, labels prefixed (panel wide)."""
    return [
        replace(c, name=f"{c.name}__{suffix}", label=f"{prefix}{c.label}" if c.label else "")
        for c in columns
    ]


def answer_cells(
    vars_: Sequence[VarColumns], version: Version | None, answers: dict[str, Sequence[Any]]
) -> list[Any]:
    """The typed cells of one run's answers, in the order of `vars_`' columns."""
    cells: list[Any] = []
    for cols in vars_:
        sid = cols.var.step_id
        step = version.steps.get(sid) if version else None
        answer = answers.get(sid)
        if answer is None or step is None:
            value: Any = NOT_ASKED
        elif answer[SKIPPED_AT]:
            value = SKIPPED
        else:
            value = typed_value(step, _decoded(answer[VALUE]))
        cells.append(value)
        for code, _ in cols.dummies:
            if isinstance(value, Marker):
                cells.append(value)
            elif step is None or code not in step.options:
                cells.append(NOT_ASKED)  # this version did not offer the option
            else:
                cells.append(int(code in (value or [])))
    return cells


def run_cells(run: Sequence[Any], version: Version | None, with_hash: bool) -> list[Any]:
    """The run's own cells: id, version, language, status, start and end (UTC ISO)."""
    cells = [run[RUN_ID], version.label if version else None]
    if with_hash:
        cells.append(version.hash12 if version else None)
    status = "complete" if run[STATUS] == "complete" else "incomplete"
    return [
        *cells,
        run[RUN_LOCALE],
        status,
        iso_stamp(run[STARTED]),
        iso_stamp(run[FINISHED]),
    ]


def run_columns(with_hash: bool) -> list[Column]:
    """The columns of run_cells."""
    cols = [Column("run_id", "int", "Id of the run", answers=False)]
    cols.append(Column("flow_version", "text", "Flow version of the run", answers=False))
    if with_hash:
        cols.append(
            Column("version_hash", "text", "Content hash of that version (12)", answers=False)
        )
    return [
        *cols,
        Column("language", "text", "Language of the run", answers=False),
        Column("status", "text", "complete or incomplete", answers=False),
        Column("started_at", "stamp", "Run started (UTC)", answers=False),
        Column("finished_at", "stamp", "Run ended (UTC)", answers=False),
    ]


def finish_cell(cells: Cells, column: Column, value: Any) -> Any:
    """A typed cell as the finished cell of CSV, XLSX or JSON (every missing kind blank)."""
    if value is None or isinstance(value, Marker):
        return cells.blank
    kind = column.kind
    if kind in ("int", "dummy"):
        return cells.number(value)
    if kind == "stamp":
        return cells.stamp(value)
    if kind == "date":
        return cells.day(value, CODE_SEPARATOR)
    return cells.value(value, CODE_SEPARATOR)


class RunCollector:
    """Groups streamed rows into runs: (first row, answers by step id), in stream order."""

    def __init__(self) -> None:
        self._run: Sequence[Any] | None = None
        self._answers: dict[str, Sequence[Any]] = {}

    def feed(self, chunk: Sequence[Sequence[Any]]) -> list[tuple[Sequence[Any], dict]]:
        """The runs that ended in this chunk (the last one may go on in the next)."""
        done: list[tuple[Sequence[Any], dict]] = []
        for row in chunk:
            if self._run is None or row[RUN_ID] != self._run[RUN_ID]:
                if self._run is not None:
                    done.append((self._run, self._answers))
                self._run, self._answers = row, {}
            if row[STEP_ID] is not None:
                self._answers[row[STEP_ID]] = row
        return done

    def close(self) -> list[tuple[Sequence[Any], dict]]:
        """The last run, if any."""
        done = [(self._run, self._answers)] if self._run is not None else []
        self._run, self._answers = None, {}
        return done


__all__ = [
    "NO_RUN",
    "PSEUDONYM",
    "VERSION_ID",
    "RunCollector",
    "VarColumns",
    "answer_cells",
    "finish_cell",
    "run_cells",
    "run_columns",
    "suffixed",
    "variable_columns",
    "wording",
]
