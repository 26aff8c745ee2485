"""The plan of a flow's export: its versions, and one variable (column) per input step id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flows.model import Flow, Step, StepType, normalize_locale
from storage.queries import VersionRow

HASH_LENGTH = 12

RUN_COLUMNS: tuple[str, ...] = (
    "pseudonym",
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
# The long layout's column of a voice answer's transcript (only flows with voice questions).
TRANSCRIPT_COLUMN = "transcript"


@dataclass
class Version:
    """One stored version of the flow, parsed."""

    id: int
    label: str
    hash12: str
    flow: Flow
    steps: dict[str, Step]  # input steps by id
    order: dict[str, int]  # step id -> position in flow.steps


@dataclass
class Variable:
    """One input step id across all versions of the flow."""

    step_id: str
    column: str
    seen: list[tuple[Version, Step]] = field(default_factory=list)
    # Multiple-choice codes over all versions (first seen first) -> their dummy column name.
    dummies: dict[str, str] = field(default_factory=dict)
    # A voice question's transcript column (wide layout); empty for other questions.
    transcript: str = ""

    @property
    def latest(self) -> tuple[Version, Step]:
        """The newest version having this step, with the step."""
        return self.seen[-1]


@dataclass
class Plan:
    """What an export of one flow contains: versions, variables, languages."""

    flow_id: str
    versions: dict[int, Version]
    variables: list[Variable]
    locales: list[str]
    source_language: str
    version_names: dict[int, str]  # version id -> how the codebook names it

    @property
    def transcribed(self) -> bool:
        """Whether the flow has voice questions (their transcripts get columns)."""
        return any(var.transcript for var in self.variables)


def merge_order(order: list[str], steps: Sequence[str]) -> None:
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


def build_plan(flow_id: str, rows: Sequence[VersionRow]) -> Plan:
    """The export plan of a flow from its stored versions, oldest first."""
    versions: dict[int, Version] = {}
    order: list[str] = []
    locales: dict[str, str] = {}
    for row in rows:
        flow = Flow.model_validate(row.definition)
        inputs = flow.input_steps()
        versions[row.id] = Version(
            id=row.id,
            label=row.version,
            hash12=row.content_hash[:HASH_LENGTH],
            flow=flow,
            steps={s.id: s for s in inputs},
            order={s.id: i for i, s in enumerate(flow.steps)},
        )
        merge_order(order, [s.id for s in inputs])
        for loc in flow.locales():
            locales.setdefault(normalize_locale(loc), loc)

    voice = any(s.type is StepType.VOICE for v in versions.values() for s in v.steps.values())
    taken = set(RUN_COLUMNS) | set(LONG_COLUMNS) | ({TRANSCRIPT_COLUMN} if voice else set())
    variables: list[Variable] = []
    for step_id in order:
        var = Variable(step_id=step_id, column=_unique(step_id, taken))
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
        if any(step.type is StepType.VOICE for _, step in var.seen):
            var.transcript = _unique(f"{var.column}__transcript", taken)

    labels = [v.label for v in versions.values()]
    names = {
        v.id: v.label if labels.count(v.label) == 1 else f"{v.label} ({v.hash12})"
        for v in versions.values()
    }
    newest = list(versions.values())[-1].flow
    return Plan(
        flow_id=flow_id,
        versions=versions,
        variables=variables,
        locales=list(locales.values()),
        source_language=newest.language,
        version_names=names,
    )
