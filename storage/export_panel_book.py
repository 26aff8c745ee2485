"""The codebook of a panel export: one entry per column, with the wording per version and
where it changed (`wording_changed`, `changed_in`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storage.export_panel_rows import VarColumns, run_columns, wording
from storage.export_plan import Plan
from storage.export_stats import MARKERS, NUMERIC, Column

if TYPE_CHECKING:
    from storage.export_panel import PanelRows, Wave

MISSING_NOTE = "In .sav: " + ", ".join(f"{m.spss} {m.label}" for m in MARKERS)
MISSING_NOTE += "; in .dta: " + ", ".join(f".{m.stata} {m.label}" for m in MARKERS)
MISSING_NOTE += "; CSV/XLSX/JSON: empty."


def panel_codebook_columns() -> list[str]:
    """The codebook's columns."""
    return [
        "variable",
        "step",
        "wave",
        "type",
        "label",
        "options",
        "versions",
        "wording_by_version",
        "wording_changed",
        "changed_in",
        "description",
    ]


def _options(column: Column) -> dict[str, str] | None:
    if column.kind == "code":
        code_of = {n: code for code, n in column.codes.items()}
        return {str(n): f"{text} [{code_of[n]}]" for n, text in column.labels.items()}
    if column.labels:
        return {str(n): text for n, text in column.labels.items()}
    return None


def _changes(plan: Plan, cols: VarColumns) -> tuple[dict[int, str], list[str]]:
    """Wording per version id (source language) and the versions where it changed."""
    texts: dict[int, str] = {}
    changed: list[str] = []
    before: str | None = None
    for version, _ in cols.var.seen:
        text = wording(version, cols.var.step_id, plan.source_language)
        texts[version.id] = text
        if before is not None and text != before:
            changed.append(plan.version_names[version.id])
        before = text
    return texts, changed


def _var_entries(
    plan: Plan, cols: VarColumns, wave: Wave | None, before: set[str] | None
) -> tuple[list[dict[str, Any]], set[str]]:
    """Entries of one variable (value column and dummies), for one wave or all (long)."""
    texts, changed = _changes(plan, cols)
    seen = [v for v, _ in cols.var.seen if wave is None or v.id in wave.versions]
    here = list(dict.fromkeys(texts[v.id] for v in seen))
    entry: dict[str, Any] = {
        "step": cols.var.step_id,
        "wave": wave.label if wave else None,
        "versions": [plan.version_names[v.id] for v in seen],
        "wording_by_version": {plan.version_names[i]: t for i, t in texts.items()},
        "changed_in": changed,
    }
    if wave is None:
        entry["wording_changed"] = int(bool(changed))
    else:
        # Changed in this wave: its runs saw another wording than the wave before (asked).
        entry["wording_changed"] = int(bool(before) and bool(here) and set(here) != before)
    out = []
    suffix = f"__{wave.label}" if wave else ""
    for column in cols.columns():
        row = dict(entry)
        row["variable"] = column.name + suffix
        row["type"] = column.kind
        row["label"] = " / ".join(here) if column is cols.main else column.label
        row["options"] = _options(column)
        if not seen:
            row["description"] = "not asked in this wave (no version of it had the question)"
        elif column.kind in NUMERIC:
            row["description"] = MISSING_NOTE
        out.append(row)
    return out, set(here)


def _run_entries(suffix: str, wave: str | None) -> list[dict[str, Any]]:
    return [
        {"variable": c.name + suffix, "wave": wave, "type": c.kind, "label": c.label}
        for c in run_columns(False)
    ]


def panel_codebook(plan: Plan, rows: PanelRows, layout: str) -> list[dict[str, Any]]:
    """The entries: pseudonym, (long) wave columns, then per wave (wide) or once (long) the
    run columns and every variable's columns."""
    book: list[dict[str, Any]] = [
        {"variable": "pseudonym", "type": "text", "label": "Pseudonym of the person"}
    ]
    waves = {w.label: w.name for w in rows.waves}
    if layout == "long":
        book.append(
            {
                "variable": "wave",
                "type": "code",
                "label": "Wave",
                "options": _options(rows.columns[1]),
                "description": "Waves in order of their first run: "
                + "; ".join(f"{k} = {v}" for k, v in waves.items()),
            }
        )
        book.append({"variable": "wave_name", "type": "text", "label": "Campaign or period"})
        book += _run_entries("", None)
        for cols in rows.vars:
            book += _var_entries(plan, cols, None, None)[0]
        return book
    # The wording each variable had in the last wave that asked it.
    before: dict[str, set[str]] = {}
    for wave in rows.waves:
        for entry in _run_entries(f"__{wave.label}", wave.label):
            entry["description"] = f"{wave.label} = {wave.name}"
            book.append(entry)
        for cols in rows.vars:
            entries, here = _var_entries(plan, cols, wave, before.get(cols.var.step_id))
            book += entries
            if here:
                before[cols.var.step_id] = here
    return book
