"""The codebook of an export: one entry per column, with wording, options and bounds."""

from __future__ import annotations

from typing import Any

from flows.model import Flow, Step, StepType, normalize_locale
from storage.export_plan import LONG_COLUMNS, RUN_COLUMNS, TRANSCRIPT_COLUMN, Plan, Variable

_RUN_CODEBOOK: dict[str, tuple[str, str]] = {
    "pseudonym": ("string", "Pseudonym of the person (never a Telegram id, name or username)"),
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


def other_locales(plan: Plan) -> list[str]:
    """The flow's languages other than its source language."""
    source = normalize_locale(plan.source_language)
    return [loc for loc in plan.locales if normalize_locale(loc) != source]


def codebook_columns(plan: Plan) -> list[str]:
    """Codebook columns: texts per language, options in the source and other languages."""
    others = other_locales(plan)
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


def codebook(plan: Plan, layout: str, transcripts: bool = False) -> list[dict[str, Any]]:
    """The codebook entries: run columns, answer columns (long), then one per variable;
    `transcripts`: with the transcript columns of voice questions (storage.export_rows)."""
    entries = _column_entries(layout)
    if transcripts and layout == "long" and plan.transcribed:
        entries.append({"variable": TRANSCRIPT_COLUMN, "type": "string", "description": _HEARD})
    others = other_locales(plan)
    for var in plan.variables:
        # Labels of each code from the newest version offering it; codes in first-seen order.
        options: dict[str, tuple[Flow, Step]] = {}
        for v, s in var.seen:
            for code in s.options:
                options[code] = (v.flow, s)
        entries.append(_variable_entry(plan, var, options, others))
        if layout == "wide":
            entries.extend(_dummy_entries(plan, var, options))
            if transcripts and var.transcript:
                entries.append(_transcript_entry(var))
    return entries


# Said once for the long column and for each voice question's column in the wide layout.
_HEARD = (
    "What offline speech-to-text heard in the voice note (the answer's current revision); "
    "empty if not transcribed (yet) or not a voice note"
)


def _transcript_entry(var: Variable) -> dict[str, Any]:
    return {
        "variable": var.transcript,
        "step": var.step_id,
        "type": "transcript",
        "versions": None,
        "description": f"{var.column}: {_HEARD}",
    }


def _column_entries(layout: str) -> list[dict[str, Any]]:
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
    return entries


def _variable_entry(
    plan: Plan, var: Variable, options: dict[str, tuple[Flow, Step]], others: list[str]
) -> dict[str, Any]:
    version, step = var.latest
    flow = version.flow
    types = list(dict.fromkeys(s.type.value for _, s in var.seen))
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
    return entry


def _dummy_entries(
    plan: Plan, var: Variable, options: dict[str, tuple[Flow, Step]]
) -> list[dict[str, Any]]:
    _, step = var.latest
    entries: list[dict[str, Any]] = []
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
