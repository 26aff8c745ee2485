"""The data rows of an export: run cells, typed answer values and their labels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flows.model import Flow, Step, StepType
from storage.export_mask import NameMasker
from storage.export_plan import LONG_COLUMNS, RUN_COLUMNS, Plan, Version
from storage.export_writers import LIST_SEPARATOR
from storage.queries import AnswerRow, RunRow

# Multiple-choice codes are joined like this in text formats (JSON keeps a list).
CODE_SEPARATOR = ";"


def iso_utc(moment: datetime | None) -> str | None:
    """A datetime as UTC ISO 8601 with `Z`, second precision (2026-11-24T15:04:05Z)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class Rows:
    """Builds data rows of one layout from runs and their answers."""

    def __init__(self, plan: Plan, layout: str) -> None:
        self.plan = plan
        self.layout = layout
        self.masker = NameMasker()
        if layout == "wide":
            self.columns: list[str] = list(RUN_COLUMNS)
            self._slot: dict[str, int] = {}
            for var in plan.variables:
                self._slot[var.step_id] = len(self.columns)
                self.columns.append(var.column)
                self.columns.extend(var.dummies.values())
        else:
            self.columns = [*RUN_COLUMNS, *LONG_COLUMNS]
        # How text formats join list values: codes with ";", labels (prose) with "; ".
        self.separators = [
            LIST_SEPARATOR if c == "value_label" and layout == "long" else CODE_SEPARATOR
            for c in self.columns
        ]
        self._variables = {var.step_id: var for var in plan.variables}

    def _run_cells(self, run: RunRow, version: Version | None) -> list[Any]:
        return [
            run.participant,
            run.run_id,
            self.plan.flow_id,
            version.label if version else None,
            version.hash12 if version else None,
            run.locale,
            "complete" if run.status == "complete" else "incomplete",
            iso_utc(run.started_at),
            iso_utc(run.finished_at),
        ]

    def rows(self, run: RunRow, answers: Sequence[AnswerRow]) -> list[list[Any]]:
        """The data rows of one run (one row in wide layout, one per answer in long)."""
        version = self.plan.versions.get(run.flow_version_id)
        head = self._run_cells(run, version)
        if self.layout == "wide":
            return [self._wide(head, version, answers)]
        return self._long(head, run, version, answers)

    def _wide(
        self, head: list[Any], version: Version | None, answers: Sequence[AnswerRow]
    ) -> list[Any]:
        row: list[Any] = head + [None] * (len(self.columns) - len(head))
        for answer in answers:
            slot = self._slot.get(answer.step_id)
            if slot is None or answer.skipped:
                continue
            step = version.steps.get(answer.step_id) if version else None
            value = typed_value(step, answer.value)
            row[slot] = value
            var = self._variables[answer.step_id]
            if var.dummies and step is not None and step.type is StepType.MULTIPLE_CHOICE:
                chosen = set(value or [])
                for offset, code in enumerate(var.dummies, start=1):
                    # An option this version did not offer stays blank, not 0.
                    if code in step.options:
                        row[slot + offset] = 1 if code in chosen else 0
        return row

    def _long(
        self,
        head: list[Any],
        run: RunRow,
        version: Version | None,
        answers: Sequence[AnswerRow],
    ) -> list[list[Any]]:
        order = version.order if version else {}
        ranked = sorted(
            enumerate(answers), key=lambda ia: (order.get(ia[1].step_id, len(order)), ia[0])
        )
        out = []
        for _, answer in ranked:
            step = version.steps.get(answer.step_id) if version else None
            value = None if answer.skipped else typed_value(step, answer.value)
            label = value_label(version.flow, step, value, run.locale) if version else None
            out.append(
                [
                    *head,
                    answer.step_id,
                    step.type.value if step else None,
                    value,
                    label,
                    int(answer.skipped),
                    self.masker.mask(version, step, answer.shown_text, answer.locale),
                    iso_utc(answer.answered_at),
                    iso_utc(answer.updated_at),
                    answer.revision,
                ]
            )
        return out
