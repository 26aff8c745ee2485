"""Loading flow files: schema stage, graph stage, translations; every problem at once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

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


def flow_files(paths: Iterable[str | Path]) -> list[Path]:
    """Flow files named by `paths`: files as given, directories' *.yaml/*.yml (not locales/)."""
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


def check_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Every problem in the flow files under `paths`, including flow ids used twice."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    files = flow_files(paths)
    for path in files:
        if not path.exists():
            problems.append(Problem(str(path), 0, None, "no such file or directory"))
            continue
        flow, found = _check_file(path)
        problems.extend(found)
        if flow is not None:
            if flow.id in seen:
                problems.append(
                    Problem(
                        str(path), 1, None, f"flow id {flow.id!r} is also used by {seen[flow.id]}"
                    )
                )
            else:
                seen[flow.id] = str(path)
    return problems


def load_flows(paths: Iterable[str | Path]) -> dict[str, Flow]:
    """Load every flow under `paths` into id -> Flow; raises FlowError listing all problems."""
    paths = list(paths)
    problems = check_paths(paths)
    if problems:
        raise FlowError(problems)
    return {flow.id: flow for flow in (load_flow(p) for p in flow_files(paths))}


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line))
