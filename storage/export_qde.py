"""The `project.qde` document of a REFI-QDA export (QDA-XML 1.0, Project.xsd of 2019).

storage.export_qdpx reads one person after the other and hands each finished person here:
the case and its sources are written as text at once (into spools that project.qde is put
together from at the end), so neither a tree of the whole project nor the people are ever
held in memory. Every piece of text passes xml_text(): characters XML 1.0 cannot
carry (control characters, lone surrogates left by an older version) become U+FFFD.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from flows.model import Step, StepType
from storage.export_cells import REPLACEMENT
from storage.export_plan import Plan, Version
from storage.export_plan import Variable as PlanVariable
from storage.export_rows import value_label

NAMESPACE = "urn:QDA-XML:project:1.0"
USER_NAME = "backbone-bot"
CACHE_LIMIT = 50_000

CLOSED = frozenset(
    {
        StepType.SINGLE_CHOICE,
        StepType.MULTIPLE_CHOICE,
        StepType.SCALE,
        StepType.NUMBER,
        StepType.YES_NO,
        StepType.DATE,
    }
)
# Run-level case variables; the plan reserves these names, so no step column takes them.
RUN_VARIABLES = ("flow_version", "language", "status")
_KINDS = {
    StepType.SINGLE_CHOICE: "Text",
    StepType.YES_NO: "Boolean",
    StepType.DATE: "Date",
    StepType.SCALE: "Integer",
}  # a variable's type by its step's (number: Integer or Float; multiple choice: Boolean)

# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """`value` as text XML 1.0 can carry: what it cannot is written as U+FFFD."""
    return _NOT_XML.sub(REPLACEMENT, str(value))


def new_guid() -> str:
    """A fresh GUID (REFI-QDA identifies every object by one)."""
    return str(uuid.uuid4())


def attrs(**values: Any) -> str:
    """XML attributes, quoted and escaped; empty values left out."""
    return "".join(
        f" {name}={quoteattr(xml_text(value))}" for name, value in values.items() if value
    )


def _transcript(media: Media, stamp: dict[str, str]) -> str:
    """A voice note's transcript as REFI-QDA's Transcript of the audio source (plain text)."""
    if not media.transcript:
        return ""
    head = attrs(guid=new_guid(), name=f"{media.name} · transcript", **stamp)
    return f"<Transcript{head}>{element('PlainTextContent', media.transcript)}</Transcript>"


def element(name: str, text: Any, **attributes: Any) -> str:
    """One element with escaped text content."""
    return f"<{name}{attrs(**attributes)}>{escape(xml_text(text))}</{name}>"


@dataclass
class Variable:
    """One case variable: a closed question, one option of a multiple choice, or a run cell."""

    name: str
    description: str
    guid: str = field(default_factory=new_guid)
    kind: str = "Text"  # Text / Boolean / Integer / Float / Date, from the step's type


@dataclass
class Media:
    """A voice note or photo: an audio or picture source with its file."""

    guid: str
    kind: str  # AudioSource / PictureSource
    name: str
    description: str
    file: Path
    suffix: str
    transcript: str | None = None  # what speech-to-text heard in a voice note


@dataclass
class Person:
    """One case being read: its latest closed answers (variable -> (kind, value)), its free
    text (pieces of the text source) and its media."""

    pseudonym: str
    case_guid: str = field(default_factory=new_guid)
    values: dict[str, tuple[str, Any]] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    text_guid: str = field(default_factory=new_guid)
    media: list[Media] = field(default_factory=list)


def _kind(step: Step) -> str:
    if step.type is StepType.NUMBER:
        return "Integer" if step.integer else "Float"
    return _KINDS.get(step.type, "Text")


def case_variables(plan: Plan) -> dict[str, Variable]:
    """The case variables: the run cells, then each closed question (multiple choice: one
    yes/no variable per option), described by its wording in the flow's source language."""
    out = {name: Variable(name, f"{name} of the person's latest run") for name in RUN_VARIABLES}
    lang = plan.source_language
    for var in plan.variables:
        version, step = var.latest
        if step.type not in CLOSED:
            continue
        flow = version.flow
        wording = flow.text(f"{step.id}.text", lang)
        if step.type is StepType.MULTIPLE_CHOICE:
            for code, column in var.dummies.items():
                label = flow.text(f"{step.id}.option.{code}", lang) if code in step.options else ""
                about = f"{wording} — {label or code} ({code})"
                out[column] = Variable(column, about, kind="Boolean")
            continue
        options = "; ".join(
            f"{c} = {flow.text(f'{step.id}.option.{c}', lang)}" for c in step.options
        )
        about = f"{wording} [{options}]" if options else wording
        out[var.column] = Variable(var.column, about, kind=_kind(step))
    return out


def closed_values(var: PlanVariable, version: Version, step: Step, typed: Any, lang: str) -> dict:
    """The case variable values of one closed answer: {variable name: (kind, value)}."""
    if step.type is StepType.MULTIPLE_CHOICE:
        chosen = set(typed or [])
        # An option this version did not offer says nothing about the person.
        offered = (code for code in var.dummies if code in step.options)
        return {var.dummies[code]: ("Boolean", code in chosen) for code in offered}
    if step.type is StepType.SINGLE_CHOICE:
        return {var.column: ("Text", value_label(version.flow, step, typed, lang) or str(typed))}
    if step.type is StepType.YES_NO:
        return {var.column: ("Boolean", typed == "yes")} if typed in ("yes", "no") else {}
    if step.type is StepType.DATE:
        try:
            return {var.column: ("Date", date.fromisoformat(str(typed)).isoformat())}
        except ValueError:
            return {var.column: ("Text", str(typed))}
    if isinstance(typed, bool) or not isinstance(typed, int | float):
        return {var.column: ("Text", str(typed))}
    if isinstance(typed, float) and not typed.is_integer():
        return {var.column: ("Float", typed)}
    return {var.column: ("Integer", int(typed))}


def project_head(title: str, user: str, created: str, variables: list[Variable]) -> str:
    """project.qde up to the cases: the declaration, Project, Users and Variables."""
    head = attrs(name=title, origin=USER_NAME, creatingUserGUID=user, creationDateTime=created)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<Project xmlns="{NAMESPACE}"{head}>\n',
        f"<Users><User{attrs(guid=user, name=USER_NAME)}/></Users>\n",
    ]
    if variables:
        parts.append("<Variables>\n")
        for var in variables:
            parts.append(
                f"<Variable{attrs(guid=var.guid, name=var.name, typeOfVariable=var.kind)}>"
                f"{element('Description', var.description)}</Variable>\n"
            )
        parts.append("</Variables>\n")
    return "".join(parts)


def value_element(declared: str, kind: str, value: Any) -> str:
    """A VariableValue's typed element; a value of another kind than declared as text."""
    if declared != kind and not (declared == "Float" and kind == "Integer"):
        return element("TextValue", str(value).lower() if kind == "Boolean" else value)
    if declared == "Boolean":
        return element("BooleanValue", "true" if value else "false")
    if declared == "Integer":
        return element("IntegerValue", int(value))
    if declared == "Float":
        # xsd:decimal has no exponent: 1e-05 is written 0.00001.
        return element("FloatValue", format(Decimal(str(value)), "f"))
    return element("DateValue" if declared == "Date" else "TextValue", value)


class Writer:
    """Writes each finished person's case and sources into two spools."""

    def __init__(self, variables: dict[str, Variable], cases: IO[str], sources: IO[str]):
        self.variables = variables
        self.cases = cases
        self.sources = sources
        self.user = new_guid()
        self.people = 0
        self.any_source = False
        # Closed answers repeat: each variable's value element is made once, then reused.
        self._values: dict[tuple[str, str, Any], str] = {}

    def case(self, person: Person, has_text: bool, created: str) -> None:
        """The person's Case element and its sources."""
        self.people += 1
        parts = [f"<Case{attrs(guid=person.case_guid, name=person.pseudonym)}>"]
        for name, (kind, value) in person.values.items():
            parts.append(self._value(name, kind, value))
        refs = ([person.text_guid] if has_text else []) + [m.guid for m in person.media]
        parts += [f'<SourceRef targetGUID="{guid}"/>' for guid in refs]
        parts.append("</Case>\n")
        self.cases.write("".join(parts))
        if refs:
            self.any_source = True
            self.sources.write(self._sources(person, has_text, created))

    def _value(self, name: str, kind: str, value: Any) -> str:
        key = (name, kind, value)
        found = self._values.get(key)
        if found is None:
            if len(self._values) > CACHE_LIMIT:
                self._values.clear()
            var = self.variables[name]
            found = self._values[key] = (
                f'<VariableValue><VariableRef targetGUID="{var.guid}"/>'
                f"{value_element(var.kind, kind, value)}</VariableValue>"
            )
        return found

    def _sources(self, person: Person, has_text: bool, created: str) -> str:
        stamp = {"creatingUser": self.user, "creationDateTime": created}
        parts = []
        if has_text:
            text = attrs(
                guid=person.text_guid,
                name=person.pseudonym,
                plainTextPath=f"internal://{person.text_guid}.txt",
                **stamp,
            )
            parts.append(f"<TextSource{text}/>\n")
        for media in person.media:
            path = f"internal://{media.guid}{media.suffix}"
            media_attrs = attrs(guid=media.guid, name=media.name, path=path, **stamp)
            parts.append(
                f"<{media.kind}{media_attrs}>{element('Description', media.description)}"
                f"{_transcript(media, stamp)}</{media.kind}>\n"
            )
        return "".join(parts)


def project_tail(warnings: list[str], more: int) -> str:
    """project.qde after the sources: the warnings as the project's description."""
    if not warnings:
        return "</Project>\n"
    lines = ["Warnings:", *warnings]
    if more:
        lines.append(f"… and {more} more media files left out")
    return element("Description", "\n".join(lines)) + "\n</Project>\n"
