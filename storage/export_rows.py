"""The data rows of an export: run cells, typed answer values and their labels.

Rows are built from the streamed query (storage.export_stream) chunk by chunk: a run's
answers arrive together, in answer id order, and a run may span two chunks. What repeats is
finished once per export (a run's cells once per run; a question's id, type and wording, an
option code and its label once per version and language) and looked up afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Any

from flows.model import Flow, Step, StepType
from storage.export_cells import CODE_SEPARATOR, LIST_SEPARATOR, Cells, iso_utc
from storage.export_mask import NameMasker
from storage.export_plan import LONG_COLUMNS, RUN_COLUMNS, TRANSCRIPT_COLUMN, Plan, Version
from storage.export_stream import (
    ANSWERED,
    FINISHED,
    LOCALE,
    PSEUDONYM,
    REVISION,
    RUN_ID,
    RUN_LOCALE,
    SHOWN,
    SKIPPED,
    STARTED,
    STATUS,
    STEP_ID,
    TRANSCRIPT,
    UPDATED,
    VALUE,
    VERSION_ID,
)

__all__ = ["CODE_SEPARATOR", "LIST_SEPARATOR", "Rows", "iso_utc", "typed_value", "value_label"]

# Answers of these types come from a small set of values: finished once, then looked up.
_REPEATING = frozenset(
    {
        StepType.SINGLE_CHOICE,
        StepType.MULTIPLE_CHOICE,
        StepType.SCALE,
        StepType.NUMBER,
        StepType.YES_NO,
    }
)
# Look-up tables are emptied when they grow past this (free text, names in wordings).
_CACHE_LIMIT = 50_000


def typed_value(step: Step | None, value: Any) -> Any:
    """The stored answer as an export value: codes, numbers, text, media path; lists for multi."""
    if value is None:
        return None
    kind = step.type if step is not None else None
    if kind is StepType.MULTIPLE_CHOICE:
        codes = [str(c) for c in value] if isinstance(value, list) else [str(value)]
        # Option order, like the engine stores it: the same choice always exports the same.
        rank = {code: i for i, code in enumerate(step.options)}
        return sorted(codes, key=lambda c: rank.get(c, len(rank)))
    if isinstance(value, dict):
        # voice / photo: the downloaded file (relative to MEDIA_DIR), else Telegram's stable id
        return value.get("path") or value.get("file_unique_id")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _option_label(flow: Flow, step: Step, code: str, locale: str) -> str:
    if code not in step.options:
        return ""
    return flow.text(f"{step.id}.option.{code}", locale)


def value_label(flow: Flow, step: Step | None, value: Any, locale: str) -> Any:
    """The label(s) of the chosen option(s) in `locale`; None for other step types."""
    if step is None or value is None:
        return None
    if step.type is StepType.SINGLE_CHOICE:
        return _option_label(flow, step, str(value), locale) or None
    if step.type is StepType.MULTIPLE_CHOICE:
        return [_option_label(flow, step, code, locale) for code in value]
    return None


def _decoded(raw: str | None) -> Any:
    """A stored JSON value; a plain string (most free text) without the general parser."""
    if raw is None:
        return None
    if raw[:1] == '"':
        text, end = scanstring(raw, 1)
        if end == len(raw):
            return text
    return json.loads(raw)


@dataclass(frozen=True, slots=True)
class _StepCells:
    """A question of one version, finished once."""

    step: Step | None
    id_cell: Any
    type_cell: Any


@dataclass(frozen=True, slots=True)
class _Value:
    """One answer value, finished: the cell, its label's cell and the typed value."""

    cell: Any
    label: Any
    typed: Any


class Rows:
    """Builds data rows of one layout from the streamed rows of runs and answers."""

    def __init__(self, plan: Plan, layout: str, cells: Cells, transcripts: bool = False) -> None:
        """`transcripts`: transcript columns for voice questions; the streamed rows must then
        carry the transcript column (stream_rows(..., transcripts=True))."""
        self.plan = plan
        self.transcribed = transcripts and plan.transcribed
        self.layout = layout
        self.cells = cells
        self.masker = NameMasker()
        if layout == "wide":
            self.columns: list[str] = list(RUN_COLUMNS)
            self._slot: dict[str, int] = {}
            for var in plan.variables:
                self._slot[var.step_id] = len(self.columns)
                self.columns.append(var.column)
                self.columns.extend(var.dummies.values())
                if var.transcript and self.transcribed:
                    self.columns.append(var.transcript)
        else:
            self.columns = [*RUN_COLUMNS, *LONG_COLUMNS]
            if self.transcribed:
                self.columns.append(TRANSCRIPT_COLUMN)
        self._variables = {var.step_id: var for var in plan.variables}
        self._label_separator = LIST_SEPARATOR if layout == "long" else CODE_SEPARATOR
        self._text: dict[Any, Any] = {}
        self._versions: dict[int | None, tuple[Any, Any]] = {}
        self._steps: dict[tuple[int, str], _StepCells] = {}
        self._values: dict[tuple[Any, ...], _Value] = {}
        self._shown: dict[tuple[Any, ...], Any] = {}
        self._run: Sequence[Any] | None = None
        self._answers: list[Sequence[Any]] = []
        self._bits = (cells.number(0), cells.number(1))
        self._blank = _Value(cells.blank, cells.blank, None)

    # --- streaming -----------------------------------------------------------------------
    def feed(self, chunk: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """The rows of every run that ended in this chunk (the last one may go on)."""
        out: list[list[Any]] = []
        run, answers = self._run, self._answers
        for row in chunk:
            if run is None or row[RUN_ID] != run[RUN_ID]:
                if run is not None:
                    self._emit(run, answers, out)
                run, answers = row, []
            if row[STEP_ID] is not None:
                answers.append(row)
        self._run, self._answers = run, answers
        return out

    def close(self) -> list[list[Any]]:
        """The rows of the last run."""
        out: list[list[Any]] = []
        if self._run is not None:
            self._emit(self._run, self._answers, out)
        self._run, self._answers = None, []
        return out

    def _emit(self, run: Sequence[Any], answers: list[Sequence[Any]], out: list) -> None:
        version = self.plan.versions.get(run[VERSION_ID])
        head = self._head(run, version)
        if self.layout == "wide":
            out.append(self._wide(head, run, version, answers))
        else:
            self._long(head, run, version, answers, out)

    # --- finished cells --------------------------------------------------------------------
    def _fin(self, value: Any) -> Any:
        """A repeating scalar (language, status, version label), finished once."""
        cell = self._text.get(value)
        if cell is None:
            if len(self._text) > _CACHE_LIMIT:
                self._text.clear()
            cell = self._text[value] = self.cells.value(value, CODE_SEPARATOR)
        return cell

    def _head(self, run: Sequence[Any], version: Version | None) -> list[Any]:
        label, hash12 = self._versions.get(run[VERSION_ID]) or self._version_cells(version)
        stamp = self.cells.stamp
        return [
            self.cells.value(run[PSEUDONYM], CODE_SEPARATOR),
            self.cells.number(run[RUN_ID]),
            self._fin(self.plan.flow_id),
            label,
            hash12,
            self._fin(run[RUN_LOCALE]),
            self._fin("complete" if run[STATUS] == "complete" else "incomplete"),
            stamp(run[STARTED]),
            stamp(run[FINISHED]),
        ]

    def _version_cells(self, version: Version | None) -> tuple[Any, Any]:
        cells = (
            (self._fin(version.label), self._fin(version.hash12))
            if version
            else (self._fin(None), self._fin(None))
        )
        self._versions[version.id if version else None] = cells
        return cells

    def _step(self, version: Version | None, step_id: str) -> _StepCells:
        key = (version.id if version else 0, step_id)
        found = self._steps.get(key)
        if found is None:
            step = version.steps.get(step_id) if version else None
            found = self._steps[key] = _StepCells(
                step, self._fin(step_id), self._fin(step.type.value if step else None)
            )
        return found

    def _value(
        self, version: Version | None, info: _StepCells, answer: Sequence[Any], locale: str
    ) -> _Value:
        step = info.step
        repeating = step is not None and step.type in _REPEATING
        key = (version.id if version else 0, answer[STEP_ID], locale, answer[VALUE])
        if repeating:
            found = self._values.get(key)
            if found is not None:
                return found
        typed = typed_value(step, _decoded(answer[VALUE]))
        label = value_label(version.flow, step, typed, locale) if version else None
        if step is not None and step.type is StepType.DATE:
            cell = self.cells.day(typed, CODE_SEPARATOR)
        else:
            cell = self.cells.value(typed, CODE_SEPARATOR)
        found = _Value(cell, self.cells.value(label, self._label_separator), typed)
        if repeating:
            if len(self._values) > _CACHE_LIMIT:
                self._values.clear()
            self._values[key] = found
        return found

    def _shown_cell(self, version: Version | None, info: _StepCells, answer: Sequence[Any]) -> Any:
        key = (version.id if version else 0, answer[STEP_ID], answer[LOCALE], answer[SHOWN])
        cell = self._shown.get(key)
        if cell is None:
            masked = self.masker.mask(version, info.step, answer[SHOWN], answer[LOCALE])
            if len(self._shown) > _CACHE_LIMIT:
                self._shown.clear()
            cell = self._shown[key] = self.cells.value(masked, CODE_SEPARATOR)
        return cell

    # --- layouts -------------------------------------------------------------------------
    def _wide(
        self,
        head: list[Any],
        run: Sequence[Any],
        version: Version | None,
        answers: Sequence[Sequence[Any]],
    ) -> list[Any]:
        row: list[Any] = head + [self.cells.blank] * (len(self.columns) - len(head))
        for answer in answers:
            slot = self._slot.get(answer[STEP_ID])
            if slot is None or answer[SKIPPED]:
                continue
            info = self._step(version, answer[STEP_ID])
            value = self._value(version, info, answer, run[RUN_LOCALE])
            row[slot] = value.cell
            var = self._variables[answer[STEP_ID]]
            step = info.step
            if var.dummies and step is not None and step.type is StepType.MULTIPLE_CHOICE:
                chosen = set(value.typed or [])
                for offset, code in enumerate(var.dummies, start=1):
                    # An option this version did not offer stays blank, not 0.
                    if code in step.options:
                        row[slot + offset] = self._bits[code in chosen]
            if var.transcript and self.transcribed:
                heard = answer[TRANSCRIPT]
                row[slot + len(var.dummies) + 1] = self.cells.value(heard, CODE_SEPARATOR)
        return row

    def _long(
        self,
        head: list[Any],
        run: Sequence[Any],
        version: Version | None,
        answers: Sequence[Sequence[Any]],
        out: list[list[Any]],
    ) -> None:
        order = version.order if version else {}
        last = len(order)
        if len(answers) > 1:
            # Flow order; the sort is stable, so answer id order breaks ties.
            answers = sorted(answers, key=lambda a: order.get(a[STEP_ID], last))
        stamp, number, locale = self.cells.stamp, self.cells.number, run[RUN_LOCALE]
        line, bits, blank = self.cells.line, self._bits, self._blank
        if line is not None:
            # CSV: the run's cells are one finished piece of every line.
            head = [line.join(head)]
        vid = version.id if version else 0
        steps, values, shown = self._steps, self._values, self._shown
        # The hot loop of a big export: look-ups inline, computing only on a miss.
        for answer in answers:
            sid = answer[STEP_ID]
            info = steps.get((vid, sid)) or self._step(version, sid)
            skipped = answer[SKIPPED]
            if skipped:
                value = blank
            else:
                value = values.get((vid, sid, locale, answer[VALUE]))
                if value is None:
                    value = self._value(version, info, answer, locale)
            text = shown.get((vid, sid, answer[LOCALE], answer[SHOWN]))
            if text is None:
                text = self._shown_cell(version, info, answer)
            answered, updated = stamp(answer[ANSWERED]), answer[UPDATED]
            out.append(
                [
                    *head,
                    info.id_cell,
                    info.type_cell,
                    value.cell,
                    value.label,
                    bits[1 if skipped else 0],
                    text,
                    answered,
                    answered if updated == answer[ANSWERED] else stamp(updated),
                    number(answer[REVISION]),
                ]
            )
            if self.transcribed:
                out[-1].append(self.cells.value(answer[TRANSCRIPT], CODE_SEPARATOR))
