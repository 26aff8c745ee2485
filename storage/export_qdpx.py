"""A flow's answers as a REFI-QDA project (.qdpx) for MAXQDA, ATLAS.ti, NVivo, QualCoder.

A .qdpx is a ZIP archive: `project.qde` (QDA-XML 1.0, namespace urn:QDA-XML:project:1.0)
and a `sources/` folder with the files its sources point to (`internal://<guid>.<ext>`).
One case per pseudonym; the closed answers (the latest given, over all the person's runs)
are its variables; the free-text answers are one plain-text source per person, the question
wording as a heading before each answer; voice notes are audio sources and photos picture
sources, copied from the media directory (a file that is not there is left out and named
in the warnings). Like every export, only pseudonyms: the identities table is never read,
names shown in a question's wording are masked, Telegram file ids are never written.

Rows are streamed (storage.export_stream); free text goes to one temporary file per person
as it arrives, so memory holds only each person's closed answers and media list.
"""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any

from flows.model import Step, StepType
from storage.export_cells import iso_stamp, iso_utc
from storage.export_mask import NameMasker
from storage.export_plan import Plan, Variable, Version
from storage.export_qde import Document, Media, Person, new_guid, write_qde, xml_text
from storage.export_qde import Variable as CaseVariable
from storage.export_rows import _decoded, typed_value, value_label
from storage.export_stream import (
    LOCALE,
    PSEUDONYM,
    RUN_ID,
    RUN_LOCALE,
    SHOWN,
    SKIPPED,
    STARTED,
    STATUS,
    STEP_ID,
    VALUE,
    VERSION_ID,
    stream_rows,
)
from storage.export_writers import NoData, writing
from storage.models import utcnow
from storage.repo import Database

__all__ = ["CLOSED", "Project", "export_qdpx"]

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
MEDIA_KINDS = {StepType.VOICE: "AudioSource", StepType.PHOTO: "PictureSource"}
# Run-level case variables; the plan reserves these names, so no step column takes them.
RUN_VARIABLES = ("flow_version", "language", "status")
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
Warn = Callable[[str], None]
CACHE_LIMIT = 50_000


def _variables(plan: Plan) -> dict[str, CaseVariable]:
    """The case variables: the run cells, then each closed question (multiple choice: one
    yes/no variable per option), described by its wording in the flow's source language."""
    out = {name: CaseVariable(name, f"{name} of the person's latest run") for name in RUN_VARIABLES}
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
                out[column] = CaseVariable(column, f"{wording} — {label or code} ({code})")
            continue
        options = "; ".join(
            f"{c} = {flow.text(f'{step.id}.option.{c}', lang)}" for c in step.options
        )
        out[var.column] = CaseVariable(var.column, f"{wording} [{options}]" if options else wording)
    return out


def closed_values(var: Variable, version: Version, step: Step, typed: Any, lang: str) -> dict:
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


class Project:
    """Collects cases, variable values and sources from the streamed rows of one flow."""

    def __init__(self, plan: Plan, media_dir: Path, spool: IO[bytes], warn: Warn) -> None:
        self.plan = plan
        self.media_root = Path(media_dir).resolve()
        # Free text of all people, one run after the other; each person keeps its pieces'
        # places. One file: opening a file per person costs more than the rest together.
        self.spool = spool
        self.warn = warn
        self.warnings: list[str] = []
        self.variables = _variables(plan)
        self.people: dict[str, Person] = {}
        self.runs = 0
        self._by_step = {var.step_id: var for var in plan.variables}
        self._masker = NameMasker()
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._run: Sequence[Any] | None = None
        self._answers: list[Sequence[Any]] = []

    def feed(self, chunk: Sequence[Sequence[Any]]) -> None:
        """Take a chunk of streamed rows; a run is handled once all its rows are in."""
        for row in chunk:
            if self._run is None or row[RUN_ID] != self._run[RUN_ID]:
                self.close()
                self._run = row
            if row[STEP_ID] is not None:
                self._answers.append(row)

    def close(self) -> None:
        """Handle the last run fed."""
        if self._run is not None:
            self._take(self._run, self._answers)
        self._run, self._answers = None, []

    def _take(self, run: Sequence[Any], answers: list[Sequence[Any]]) -> None:
        self.runs += 1
        version = self.plan.versions.get(run[VERSION_ID])
        person = self.people.setdefault(run[PSEUDONYM], Person())
        status = "complete" if run[STATUS] == "complete" else "incomplete"
        cells = (version.label if version else None, run[RUN_LOCALE], status)
        for name, value in zip(RUN_VARIABLES, cells, strict=True):
            if value:
                person.values[name] = ("Text", value)
        if version is None:
            return
        order = version.order
        answers = sorted(answers, key=lambda a: order.get(a[STEP_ID], len(order)))
        texts: list[tuple[str, str]] = []
        for answer in answers:
            step = version.steps.get(answer[STEP_ID])
            if step is None or answer[SKIPPED] or answer[VALUE] is None:
                continue
            if step.type in CLOSED:
                person.values.update(self._closed(version, step, answer[VALUE]))
                continue
            raw = _decoded(answer[VALUE])
            if raw is None:
                continue
            wording = self._wording(version, step, answer)
            if step.type in MEDIA_KINDS:
                self._media(person, run, step, raw, wording)
            else:
                texts.append((wording, str(typed_value(step, raw))))
        if texts:
            self._write_text(person, run, version, texts)

    def _closed(self, version: Version, step: Step, stored: str) -> dict[str, Any]:
        """The case variable values of a closed answer, worked out once per stored value."""
        key = (version.id, step.id, stored)
        found = self._cache.get(key)
        if found is None:
            var = self._by_step.get(step.id)
            typed = typed_value(step, _decoded(stored))
            lang = self.plan.source_language
            found = (
                {}
                if var is None or typed is None
                else closed_values(var, version, step, typed, lang)
            )
            self._remember(key, found)
        return found

    def _wording(self, version: Version, step: Step, answer: Sequence[Any]) -> str:
        key = (version.id, step.id, answer[LOCALE], answer[SHOWN])
        found = self._cache.get(key)
        if found is None:
            shown = answer[SHOWN] or version.flow.text(f"{step.id}.text", answer[LOCALE])
            found = self._masker.mask(version, step, shown, answer[LOCALE])
            self._remember(key, found)
        return found

    def _remember(self, key: tuple[Any, ...], value: Any) -> None:
        # Bounded: wordings with names in them are as many as the people.
        if len(self._cache) > CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = value

    def _write_text(
        self, person: Person, run: Sequence[Any], version: Version, texts: list[tuple[str, str]]
    ) -> None:
        """Append one run's free-text answers to the person's text source."""
        if person.text_guid is None:
            person.text_guid = new_guid()
        started = iso_stamp(run[STARTED]) or ""
        parts = [f"=== {self.plan.flow_id} {version.label} · {run[RUN_LOCALE]} · {started} ===\n"]
        parts += [f"\n## {wording}\n\n{text}\n" for wording, text in texts]
        piece = (xml_text("".join(parts)) + "\n").encode("utf-8")
        person.text_parts.append((self.spool.tell(), len(piece)))
        self.spool.write(piece)

    def _media(self, person: Person, run: Sequence[Any], step: Step, raw: Any, wording: str):
        """A voice note or photo as a source, if its file is in the media directory."""
        kind = "voice note" if step.type is StepType.VOICE else "photo"
        what = f"{kind} of {run[PSEUDONYM]} (run {run[RUN_ID]}, {step.id})"
        path = raw.get("path") if isinstance(raw, dict) else None
        if not path:
            self._note(f"{what}: the bot has no file of it (not downloaded), left out")
            return
        file = (self.media_root / str(path)).resolve()
        # Only files inside the media directory; a path that climbs out counts as missing.
        if not file.is_relative_to(self.media_root) or not file.is_file():
            self._note(f"{what}: file {path} is not in the media directory, left out")
            return
        suffix = file.suffix.lower() if _SUFFIX.fullmatch(file.suffix.lower()) else ""
        name = f"{run[PSEUDONYM]} · {step.id} · run {run[RUN_ID]}"
        guid = new_guid()
        person.media.append(Media(guid, MEDIA_KINDS[step.type], name, wording, file, suffix))

    def _note(self, text: str) -> None:
        self.warnings.append(text)
        self.warn(text)

    def write_archive(self, target: Path) -> None:
        """The .qdpx ZIP: project.qde first, then every source file."""
        newest = list(self.plan.versions.values())[-1].flow
        doc = Document(
            title=f"{newest.title} ({self.plan.flow_id})",
            flow_id=self.plan.flow_id,
            variables=self.variables,
            people=self.people,
            warnings=self.warnings,
            created=iso_utc(utcnow()) or "",
        )
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open("project.qde", "w") as raw:
                out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
                write_qde(out, doc)
                out.flush()
                out.detach()
            for person in self.people.values():
                if person.text_guid:
                    with archive.open(f"sources/{person.text_guid}.txt", "w") as out:
                        for offset, size in person.text_parts:
                            self.spool.seek(offset)
                            out.write(self.spool.read(size))
                for media in person.media:
                    # Audio and pictures are compressed already.
                    target_name = f"sources/{media.guid}{media.suffix}"
                    archive.write(media.file, target_name, compress_type=zipfile.ZIP_STORED)


async def export_qdpx(
    db: Database,
    plan: Plan,
    output: Path,
    *,
    media_dir: Path,
    campaign_id: int | None = None,
    empty_ok: bool = False,
    actor: str = "cli",
    warn: Warn | None = None,
) -> list[Path]:
    """Write the flow of `plan` as a REFI-QDA project (.qdpx); returns the file written.

    A media file that is not in `media_dir` is left out, told to `warn` and listed in the
    project's description. No runs: NoData, unless `empty_ok` (then the variables only).
    """
    output = Path(output)
    part = output.with_name(output.name + ".part")
    with writing(output), tempfile.TemporaryFile(prefix=".qdpx-", dir=output.parent) as spool:
        project = Project(plan, media_dir, spool, warn or (lambda _text: None))
        async for chunk in stream_rows(db, list(plan.versions), campaign_id):
            await asyncio.to_thread(project.feed, chunk)
        project.close()
        if project.runs == 0 and not empty_ok:
            what = f"campaign {campaign_id} of flow" if campaign_id is not None else "flow"
            raise NoData(f"nothing to export: {what} '{plan.flow_id}' has no answers yet")
        try:
            await asyncio.to_thread(project.write_archive, part)
            part.replace(output)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    async with db.transaction() as repo:
        details: dict[str, Any] = {"flow": plan.flow_id, "format": "qdpx", "runs": project.runs}
        details |= {"cases": len(project.people), "media_left_out": len(project.warnings)}
        if campaign_id is not None:
            details["campaign"] = campaign_id
        await repo.audit(actor, "export", details)
    return [output]
