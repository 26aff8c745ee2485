"""Exports of a flow's answers with a codebook: CSV, XLSX or JSON, long or wide layout.

Only pseudonyms leave the database: the identities table is never read (see storage.queries),
and a `{first_name}` rendered into a question's wording is masked in `shown_text`.
Runs are read in one query, answers in chunks of runs; every chunk is a short transaction so
an export of a live SQLite database never holds the write lock for long.
"""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from flows.model import Flow, Step, StepType, normalize_locale
from flows.placeholders import FIRST_NAME
from storage import queries
from storage.export_writers import (
    LIST_SEPARATOR,
    CsvWriter,
    ExportWriter,
    JsonWriter,
    XlsxWriter,
)
from storage.models import Campaign, Run, utcnow
from storage.queries import AnswerRow, RunRow, VersionRow
from storage.repo import Database

Format = Literal["csv", "xlsx", "json"]
Layout = Literal["long", "wide"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "json")
LAYOUTS: tuple[str, ...] = ("long", "wide")

# Runs per answers query: well below the bind-parameter limits of SQLite and PostgreSQL.
RUN_CHUNK = 500
HASH_LENGTH = 12
# Multiple-choice codes are joined like this in text formats (JSON keeps a list).
CODE_SEPARATOR = ";"
FIRST_NAME_MASK = "{first_name}"

RUN_COLUMNS: tuple[str, ...] = (
    "participant",
    "run_id",
    "flow_id",
    "flow_version",
    "version_hash",
    "language",
    "status",
    "started_at",
    "finished_at",
)
LONG_COLUMNS: tuple[str, ...] = (
    "step_id",
    "step_type",
    "value",
    "value_label",
    "skipped",
    "shown_text",
    "answered_at",
    "updated_at",
    "revision",
)

_RUN_CODEBOOK: dict[str, tuple[str, str]] = {
    "participant": ("string", "Pseudonym of the person (never a Telegram id, name or username)"),
    "run_id": ("integer", "Id of the run: one person going through one version of the flow"),
    "flow_id": ("string", "Id of the flow"),
    "flow_version": ("string", "Version label of the flow version the run was pinned to"),
    "version_hash": ("string", "First 12 characters of that flow version's content hash"),
    "language": ("string", "Language the run was conducted in"),
    "status": (
        "string",
        "complete, or incomplete (stopped, or still active/paused at export time)",
    ),
    "started_at": ("datetime", "When the run started (UTC, ISO 8601)"),
    "finished_at": ("datetime", "When the run ended (UTC, ISO 8601); empty if still open"),
}
_LONG_CODEBOOK: dict[str, tuple[str, str]] = {
    "step_id": ("string", "Id of the question; described in the rows of the same variable"),
    "step_type": ("string", "Type of the question in the run's flow version"),
    "value": (
        "string/number",
        "The answer: option code, number, yes/no, ISO date, text, or media path "
        "(multiple choice: codes joined by ';'); empty if skipped",
    ),
    "value_label": ("string", "Label of the chosen option(s) in the run's language"),
    "skipped": ("0/1", "1 if the person skipped the question"),
    "shown_text": ("string", "Exact wording the person saw ({first_name} masked)"),
    "answered_at": ("datetime", "First answer (UTC, ISO 8601)"),
    "updated_at": ("datetime", "Last change of the answer (UTC, ISO 8601)"),
    "revision": ("integer", "1 + how often the person changed the answer"),
}
_STATUS_OPTIONS = {"complete": "complete", "incomplete": "incomplete"}


def iso_utc(moment: datetime | None) -> str | None:
    """A datetime as UTC ISO 8601 with `Z`, second precision (2026-11-24T15:04:05Z)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- plan


@dataclass
class _Version:
    id: int
    label: str
    hash12: str
    flow: Flow
    steps: dict[str, Step]  # input steps by id
    order: dict[str, int]  # step id -> position in flow.steps


@dataclass
class _Variable:
    """One input step id across all versions of the flow."""

    step_id: str
    column: str
    seen: list[tuple[_Version, Step]] = field(default_factory=list)
    # Multiple-choice codes over all versions (first seen first) -> their dummy column name.
    dummies: dict[str, str] = field(default_factory=dict)

    @property
    def latest(self) -> tuple[_Version, Step]:
        return self.seen[-1]


@dataclass
class _Plan:
    flow_id: str
    versions: dict[int, _Version]
    variables: list[_Variable]
    locales: list[str]
    source_language: str
    version_names: dict[int, str]  # version id -> how the codebook names it


def _merge_order(order: list[str], steps: Sequence[str]) -> None:
    """Add new step ids after their predecessor in this version, keeping flow order."""
    previous: str | None = None
    for step_id in steps:
        if step_id not in order:
            at = order.index(previous) + 1 if previous is not None else 0
            order.insert(at, step_id)
        previous = step_id


def _unique(name: str, taken: set[str]) -> str:
    # A step called e.g. "status" must not overwrite the run-level column of that name.
    while name in taken:
        name = f"q_{name}"
    taken.add(name)
    return name


def _plan(flow_id: str, rows: Sequence[VersionRow]) -> _Plan:
    versions: dict[int, _Version] = {}
    order: list[str] = []
    locales: dict[str, str] = {}
    for row in rows:
        flow = Flow.model_validate(row.definition)
        inputs = flow.input_steps()
        versions[row.id] = _Version(
            id=row.id,
            label=row.version,
            hash12=row.content_hash[:HASH_LENGTH],
            flow=flow,
            steps={s.id: s for s in inputs},
            order={s.id: i for i, s in enumerate(flow.steps)},
        )
        _merge_order(order, [s.id for s in inputs])
        for loc in flow.locales():
            locales.setdefault(normalize_locale(loc), loc)

    taken = set(RUN_COLUMNS) | set(LONG_COLUMNS)
    variables: list[_Variable] = []
    for step_id in order:
        var = _Variable(step_id=step_id, column=_unique(step_id, taken))
        for version in versions.values():
            step = version.steps.get(step_id)
            if step is None:
                continue
            var.seen.append((version, step))
            if step.type is StepType.MULTIPLE_CHOICE:
                for code in step.options:
                    if code not in var.dummies:
                        var.dummies[code] = ""
        variables.append(var)
    # Dummy names are made after all step columns exist so a step id always keeps its name.
    for var in variables:
        for code in var.dummies:
            var.dummies[code] = _unique(f"{var.column}__{code}", taken)

    labels = [v.label for v in versions.values()]
    names = {
        v.id: v.label if labels.count(v.label) == 1 else f"{v.label} ({v.hash12})"
        for v in versions.values()
    }
    newest = list(versions.values())[-1].flow
    return _Plan(
        flow_id=flow_id,
        versions=versions,
        variables=variables,
        locales=list(locales.values()),
        source_language=newest.language,
        version_names=names,
    )


# --------------------------------------------------------------------------- values


def _typed_value(step: Step | None, value: Any) -> Any:
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


def _value_label(flow: Flow, step: Step | None, value: Any, locale: str) -> Any:
    if step is None or value is None:
        return None
    if step.type is StepType.SINGLE_CHOICE:
        return _option_label(flow, step, str(value), locale) or None
    if step.type is StepType.MULTIPLE_CHOICE:
        return [_option_label(flow, step, code, locale) for code in value]
    return None


_FORMATTER = string.Formatter()


def _template_pattern(template: str) -> re.Pattern[str] | None:
    """A regex matching the rendered template; {first_name} spans are the numbered groups."""
    parts: list[str] = []
    try:
        for literal, name, _spec, _conv in _FORMATTER.parse(template):
            parts.append(re.escape(literal))
            if name is None:
                continue
            # Greedy for the name, lazy for other placeholders: when a split is ambiguous
            # the mask rather covers too much than leaves part of a name visible.
            # Names have no line breaks, so a name at the end of a scale's text stops
            # before the legend.
            parts.append("((?-s:.*))" if name == FIRST_NAME else ".*?")
    except ValueError:
        return None
    return re.compile("".join(parts), re.DOTALL)


def _has_first_name(template: str) -> bool:
    try:
        return any(name == FIRST_NAME for _, name, _, _ in _FORMATTER.parse(template))
    except ValueError:
        return False


class _NameMasker:
    """Masks a participant's first name where a question template placed it in shown_text."""

    def __init__(self) -> None:
        # (version id, step id) -> (full, prefix) patterns per text template, or None when no
        # template of the step uses {first_name} (the common case: shown_text passes as is).
        self._cache: dict[tuple[int, str], list[tuple[re.Pattern[str], re.Pattern[str]]] | None]
        self._cache = {}

    def _rules(
        self, version: _Version, step: Step
    ) -> list[tuple[re.Pattern[str], re.Pattern[str]]] | None:
        key = (version.id, step.id)
        if key in self._cache:
            return self._cache[key]
        flow = version.flow
        locales = [None, *flow.locales()]
        texts = {flow.text(f"{step.id}.text", loc) for loc in locales}
        labels = {
            flow.text(f"{step.id}.{name}", loc)
            for name in ("min_label", "max_label")
            if getattr(step, name)
            for loc in locales
        }
        rules = None
        if any(_has_first_name(t) for t in texts | labels):
            rules = []
            # A name inside a scale legend is too rare to match precisely: no pattern then,
            # so mask() falls back to the unrendered wording.
            if not any(_has_first_name(t) for t in labels):
                for text in sorted(texts):
                    pattern = _template_pattern(text)
                    if pattern is not None:
                        # Scales show the text, then "\n\n" and the legend.
                        prefix = re.compile(pattern.pattern + r"(?=\n\n)", re.DOTALL)
                        rules.append((pattern, prefix))
        self._cache[key] = rules
        return rules

    def mask(self, version: _Version | None, step: Step | None, shown: str, locale: str) -> str:
        """shown_text with the first name replaced by {first_name}; never leaks it."""
        if version is None or step is None or not shown:
            return shown
        rules = self._rules(version, step)
        if rules is None:
            return shown
        for full, prefix in rules:
            match = full.fullmatch(shown) or prefix.match(shown)
            if match:
                out, last = [], 0
                for group in range(1, match.re.groups + 1):
                    start, end = match.span(group)
                    out += [shown[last:start], FIRST_NAME_MASK]
                    last = end
                return "".join([*out, shown[last:]])
        # No template fits: the unrendered wording is safe and still says what was asked.
        return version.flow.text(f"{step.id}.text", locale)


# --------------------------------------------------------------------------- rows


class _Rows:
    """Builds data rows of one layout from runs and their answers."""

    def __init__(self, plan: _Plan, layout: str) -> None:
        self.plan = plan
        self.layout = layout
        self.masker = _NameMasker()
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

    def _run_cells(self, run: RunRow, version: _Version | None) -> list[Any]:
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
        self, head: list[Any], version: _Version | None, answers: Sequence[AnswerRow]
    ) -> list[Any]:
        row: list[Any] = head + [None] * (len(self.columns) - len(head))
        for answer in answers:
            slot = self._slot.get(answer.step_id)
            if slot is None or answer.skipped:
                continue
            step = version.steps.get(answer.step_id) if version else None
            value = _typed_value(step, answer.value)
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
        version: _Version | None,
        answers: Sequence[AnswerRow],
    ) -> list[list[Any]]:
        order = version.order if version else {}
        ranked = sorted(
            enumerate(answers), key=lambda ia: (order.get(ia[1].step_id, len(order)), ia[0])
        )
        out = []
        for _, answer in ranked:
            step = version.steps.get(answer.step_id) if version else None
            value = None if answer.skipped else _typed_value(step, answer.value)
            label = _value_label(version.flow, step, value, run.locale) if version else None
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


# --------------------------------------------------------------------------- codebook


def _other_locales(plan: _Plan) -> list[str]:
    source = normalize_locale(plan.source_language)
    return [loc for loc in plan.locales if normalize_locale(loc) != source]


def codebook_columns(plan: _Plan) -> list[str]:
    """Codebook columns: texts per language, options in the source and other languages."""
    others = _other_locales(plan)
    return [
        "variable",
        "step",
        "type",
        *(f"text_{loc}" for loc in plan.locales),
        "options",
        *(f"options_{loc}" for loc in others),
        "min",
        "max",
        "optional",
        "condition",
        "versions",
        "description",
    ]


def _bounds(step: Step) -> tuple[Any, Any]:
    if step.type is StepType.SCALE:
        return (step.min if step.min is not None else 1, step.max if step.max is not None else 5)
    if step.type is StepType.MULTIPLE_CHOICE:
        return step.choice_bounds()
    if step.type is StepType.NUMBER:
        return step.min, step.max
    return None, None


def _codebook(plan: _Plan, layout: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for name in RUN_COLUMNS:
        kind, text = _RUN_CODEBOOK[name]
        entry = {"variable": name, "type": kind, "description": text}
        if name == "status":
            entry["options"] = dict(_STATUS_OPTIONS)
        entries.append(entry)
    if layout == "long":
        for name in LONG_COLUMNS:
            kind, text = _LONG_CODEBOOK[name]
            entries.append({"variable": name, "type": kind, "description": text})

    others = _other_locales(plan)
    for var in plan.variables:
        version, step = var.latest
        flow = version.flow
        types = list(dict.fromkeys(s.type.value for _, s in var.seen))
        # Labels of each code from the newest version offering it; codes in first-seen order.
        options: dict[str, tuple[Flow, Step]] = {}
        for v, s in var.seen:
            for code in s.options:
                options[code] = (v.flow, s)
        low, high = _bounds(step)
        entry: dict[str, Any] = {
            "variable": var.column,
            "step": var.step_id,
            "type": " / ".join(types),
            "min": low,
            "max": high,
            "optional": step.optional,
            "condition": step.when,
            "versions": [plan.version_names[v.id] for v, _ in var.seen],
        }
        for loc in plan.locales:
            entry[f"text_{loc}"] = flow.text(f"{step.id}.text", loc)
        if options:
            entry["options"] = {c: s.options[c] for c, (_, s) in options.items()}
            for loc in others:
                entry[f"options_{loc}"] = {
                    c: f.text(f"{step.id}.option.{c}", loc) for c, (f, _) in options.items()
                }
        if len(types) > 1:
            entry["description"] = "The question type changed between versions"
        entries.append(entry)
        if layout != "wide":
            continue
        for code, column in var.dummies.items():
            offered = [(v, s) for v, s in var.seen if code in s.options]
            f, s = options[code]
            dummy: dict[str, Any] = {
                "variable": column,
                "step": var.step_id,
                "type": "dummy",
                "options": {"1": "chosen", "0": "not chosen"},
                "min": 0,
                "max": 1,
                "optional": step.optional,
                "condition": step.when,
                "versions": [plan.version_names[v.id] for v, _ in offered],
                "description": f"1 if option '{code}' of {var.column} was chosen, 0 if not; "
                "empty if the question was not answered or skipped, or the version did not "
                "offer the option",
            }
            for loc in plan.locales:
                dummy[f"text_{loc}"] = f.text(f"{s.id}.option.{code}", loc)
            entries.append(dummy)
    return entries


# --------------------------------------------------------------------------- export


def _writer(
    fmt: str, output: Path, rows: _Rows, head: dict[str, Any], raw_csv: bool
) -> ExportWriter:
    if fmt == "csv":
        return CsvWriter(output, rows.columns, rows.separators, raw=raw_csv)
    if fmt == "xlsx":
        return XlsxWriter(output, rows.columns, rows.separators)
    return JsonWriter(output, rows.columns, head)


def _emit(
    writer: ExportWriter, builder: _Rows, runs: Sequence[RunRow], answers: Sequence[AnswerRow]
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
    if not versions:
        raise LookupError(f"no data for flow '{flow_id}'")

    plan = _plan(flow_id, versions)
    builder = _Rows(plan, layout)
    head = {"flow": flow_id, "exported_at": iso_utc(utcnow()), "layout": layout}
    if campaign_id is not None:
        head["campaign"] = campaign_id
    writer = _writer(fmt, output, builder, head, raw_csv)
    count = 0
    try:
        for start in range(0, len(runs), RUN_CHUNK):
            chunk = runs[start : start + RUN_CHUNK]
            async with db.transaction() as repo:
                answers = await queries.answers_of_runs(repo.session, [r.run_id for r in chunk])
            # Formatting and file writes run in a thread so a bot sharing the loop stays live.
            count += await asyncio.to_thread(_emit, writer, builder, chunk, answers)
        columns = codebook_columns(plan)
        await asyncio.to_thread(writer.finish, columns, _codebook(plan, layout))
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
