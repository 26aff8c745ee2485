"""The `project.qde` document of a REFI-QDA export (QDA-XML 1.0, Project.xsd of 2019).

The document's model (variables, people with their closed answers and sources) is filled by
storage.export_qdpx and written here as text, element by element, so no tree of the whole
project is ever built. Every piece of text passes xml_text(): characters XML 1.0 cannot
carry (control characters, lone surrogates left by an older version) become U+FFFD.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from storage.export_cells import REPLACEMENT

NAMESPACE = "urn:QDA-XML:project:1.0"
USER_NAME = "backbone-bot"
CACHE_LIMIT = 50_000

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


def element(name: str, text: Any, **attributes: Any) -> str:
    """One element with escaped text content."""
    return f"<{name}{attrs(**attributes)}>{escape(xml_text(text))}</{name}>"


@dataclass
class Variable:
    """One case variable: a closed question, one option of a multiple choice, or a run cell."""

    name: str
    description: str
    guid: str = field(default_factory=new_guid)
    kind: str = "Text"  # Text / Boolean / Integer / Float / Date, settled by the values
    seen: set[str] = field(default_factory=set)


@dataclass
class Media:
    """A voice note or photo: an audio or picture source with its file."""

    guid: str
    kind: str  # AudioSource / PictureSource
    name: str
    description: str
    file: Path
    suffix: str


@dataclass
class Person:
    """One case: a pseudonym's latest closed answers (variable -> (kind, value)) and sources."""

    case_guid: str = field(default_factory=new_guid)
    values: dict[str, tuple[str, Any]] = field(default_factory=dict)
    text_guid: str | None = None
    text_parts: list[tuple[int, int]] = field(default_factory=list)  # (offset, size) in a spool
    media: list[Media] = field(default_factory=list)


@dataclass
class Document:
    """What project.qde describes."""

    title: str
    flow_id: str
    variables: dict[str, Variable]
    people: dict[str, Person]
    warnings: list[str]
    created: str
    user: str = field(default_factory=new_guid)


def write_qde(out: IO[str], doc: Document) -> None:
    """The project document, valid against the REFI-QDA Project.xsd."""
    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    head = attrs(
        name=doc.title, origin=USER_NAME, creatingUserGUID=doc.user, creationDateTime=doc.created
    )
    out.write(f'<Project xmlns="{NAMESPACE}"{head}>\n')
    out.write(f"<Users><User{attrs(guid=doc.user, name=USER_NAME)}/></Users>\n")
    variables = settle_kinds(doc)
    if variables:
        out.write("<Variables>\n")
        for var in variables:
            out.write(
                f"<Variable{attrs(guid=var.guid, name=var.name, typeOfVariable=var.kind)}>"
                f"{element('Description', var.description)}</Variable>\n"
            )
        out.write("</Variables>\n")
    if doc.people:
        out.write("<Cases>\n")
        cache: dict[Any, str] = {}
        for pseudonym, person in doc.people.items():
            _write_case(out, doc, pseudonym, person, cache)
        out.write("</Cases>\n")
    if any(p.text_guid or p.media for p in doc.people.values()):
        out.write("<Sources>\n")
        for pseudonym, person in doc.people.items():
            _write_sources(out, doc, pseudonym, person)
        out.write("</Sources>\n")
    if doc.warnings:
        out.write(element("Description", "Warnings:\n" + "\n".join(doc.warnings)) + "\n")
    out.write("</Project>\n")


def settle_kinds(doc: Document) -> list[Variable]:
    """Each variable's type from the values given (Integer and Float: Float; else Text)."""
    for person in doc.people.values():
        for name, (kind, _value) in person.values.items():
            doc.variables[name].seen.add(kind)
    for var in doc.variables.values():
        if len(var.seen) == 1:
            var.kind = next(iter(var.seen))
        elif var.seen == {"Integer", "Float"}:
            var.kind = "Float"
        else:
            var.kind = "Text"
    return list(doc.variables.values())


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


def _write_case(
    out: IO[str], doc: Document, pseudonym: str, person: Person, cache: dict[Any, str]
) -> None:
    out.write(f"<Case{attrs(guid=person.case_guid, name=pseudonym)}>")
    for name, (kind, value) in person.values.items():
        # Closed answers repeat: each variable's value element is written once, then reused.
        key = (name, kind, value)
        found = cache.get(key)
        if found is None:
            if len(cache) > CACHE_LIMIT:
                cache.clear()
            var = doc.variables[name]
            found = cache[key] = (
                f'<VariableValue><VariableRef targetGUID="{var.guid}"/>'
                f"{value_element(var.kind, kind, value)}</VariableValue>"
            )
        out.write(found)
    refs = ([person.text_guid] if person.text_guid else []) + [m.guid for m in person.media]
    out.write("".join(f'<SourceRef targetGUID="{guid}"/>' for guid in refs))
    out.write("</Case>\n")


def _write_sources(out: IO[str], doc: Document, pseudonym: str, person: Person) -> None:
    stamp = {"creatingUser": doc.user, "creationDateTime": doc.created}
    if person.text_guid:
        text = attrs(
            guid=person.text_guid,
            name=f"{pseudonym} · {doc.flow_id}",
            plainTextPath=f"internal://{person.text_guid}.txt",
            **stamp,
        )
        out.write(f"<TextSource{text}/>\n")
    for media in person.media:
        path = f"internal://{media.guid}{media.suffix}"
        media_attrs = attrs(guid=media.guid, name=media.name, path=path, **stamp)
        out.write(
            f"<{media.kind}{media_attrs}>{element('Description', media.description)}"
            f"</{media.kind}>\n"
        )
