"""Loading flow files: schema stage, graph stage, translations; every problem at once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from flows.agenda import check_agenda_file, is_agenda_file
from flows.model import Flow
from flows.problems import FlowError, Problem
from flows.schema import SchemaReader
from flows.translations import LOCALES_DIR, read_catalogs, valid_translations
from flows.validate import check_graph

FLOW_SUFFIXES = (".yaml", ".yml")


def parse_flow(text: str, file: str = "<flow>") -> tuple[Flow | None, list[Problem]]:
    """Check a flow document; returns the Flow (None if anything is wrong) and all problems."""
    reader = SchemaReader(file)
    draft = reader.read(text)
    problems = list(reader.problems)
    if draft is None:
        return None, problems
    problems.extend(check_graph(draft, file))
    if problems:
        return None, _sorted(problems)
    data = dict(draft.data)
    data["steps"] = [{**step.data, "line": step.line} for step in draft.steps]
    try:
        return Flow.model_validate(data), []
    except ValidationError as exc:  # pragma: no cover - the schema stage should catch all
        return None, [Problem(file, 1, None, f"invalid flow: {exc}")]


def _check_file(path: Path) -> tuple[Flow | None, list[Problem]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, 0, None, f"cannot read file: {exc}")]
    flow, problems = parse_flow(text, file)
    if flow is None:
        return None, problems
    catalogs, po_problems = read_catalogs(path.parent, flow.id)
    flow = flow.model_copy(
        update={"source_path": file, "translations": valid_translations(flow, catalogs)}
    )
    return flow, po_problems


def load_flow(path: str | Path) -> Flow:
    """Load and validate one flow file with its translations; raises FlowError(problems)."""
    flow, problems = _check_file(Path(path))
    if problems or flow is None:
        raise FlowError(problems)
    return flow


def _yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named by `paths`: files as given, directories' *.yaml/*.yml (not locales/)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path)
                if LOCALES_DIR in relative.parts[:-1]:
                    continue
                if candidate.is_file() and candidate.suffix in FLOW_SUFFIXES:
                    found.append(candidate)
        else:
            found.append(path)
    return found


def flow_files(paths: Iterable[str | Path]) -> list[Path]:
    """Flow files named by `paths`: files as given, directories' *.yaml/*.yml (not locales/);
    agenda files (top-level `agenda:`, see flows.agenda) are left out."""
    return [path for path in _yaml_files(paths) if not is_agenda_file(path)]


def agenda_files(paths: Iterable[str | Path]) -> list[Path]:
    """Agenda files named by `paths` (directories are searched like for flows, so
    `<flows dir>/agendas/*.yaml` is included)."""
    return [path for path in _yaml_files(paths) if is_agenda_file(path)]


def check_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Every problem in the flow and agenda files under `paths`, including ids used twice.

    A file whose top level has `agenda:` is checked as an agenda, not as a flow.
    """
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    seen_agendas: dict[str, str] = {}
    files = _yaml_files(paths)
    for path in files:
        if not path.exists():
            problems.append(Problem(str(path), 0, None, "no such file or directory"))
            continue
        if is_agenda_file(path):
            agenda, found = check_agenda_file(path)
            problems.extend(found)
            if agenda is not None:
                _note_id(problems, seen_agendas, "agenda", agenda.id, path)
            continue
        flow, found = _check_file(path)
        problems.extend(found)
        if flow is not None:
            _note_id(problems, seen, "flow", flow.id, path)
    return problems


def _note_id(
    problems: list[Problem], seen: dict[str, str], kind: str, id_: str, path: Path
) -> None:
    if id_ in seen:
        problems.append(
            Problem(str(path), 1, None, f"{kind} id {id_!r} is also used by {seen[id_]}")
        )
    else:
        seen[id_] = str(path)


def load_flows(paths: Iterable[str | Path]) -> dict[str, Flow]:
    """Load every flow under `paths` into id -> Flow; raises FlowError listing all problems."""
    paths = list(paths)
    problems = check_paths(paths)
    if problems:
        raise FlowError(problems)
    return {flow.id: flow for flow in (load_flow(p) for p in flow_files(paths))}


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line))
