"""A flow's answers as a REFI-QDA project (.qdpx) for MAXQDA, ATLAS.ti, NVivo, QualCoder.

A .qdpx is a ZIP archive: `project.qde` (QDA-XML 1.0, namespace urn:QDA-XML:project:1.0)
and a `sources/` folder with the files its sources point to (`internal://<guid>.<ext>`).
One case per pseudonym; the closed answers (the latest given, over all the person's runs)
are its variables; the free-text answers are one plain-text source per person, the question
wording as a heading before each answer; voice notes are audio sources and photos picture
sources, copied from the media directory (a file that is not there is left out and named
in the warnings). Like every export, only pseudonyms: the identities table is never read,
names shown in a question's wording are masked, Telegram file ids are never written.

The runs are read one person after the other (the export query of storage.export_stream,
ordered by person), and each person is written as soon as the next one starts: the text
source and media into the archive, the case and source elements into spools that
project.qde is put together from at the end. Memory stays flat however many people there are.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import IO, Any

from flows.model import Step, StepType
from storage.export_cells import iso_stamp, iso_utc
from storage.export_mask import NameMasker
from storage.export_plan import Plan, Version
from storage.export_qde import (
    CLOSED,
    RUN_VARIABLES,
    Media,
    Person,
    Writer,
    case_variables,
    closed_values,
    new_guid,
    project_head,
    project_tail,
    xml_text,
)
from storage.export_rows import _decoded, typed_value
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
    TRANSCRIPT,
    VALUE,
    VERSION_ID,
    stream_rows,
)
from storage.export_writers import NoData, writing
from storage.models import utcnow
from storage.repo import Database

__all__ = ["CLOSED", "Project", "export_qdpx", "person_rows"]

MEDIA_KINDS = {StepType.VOICE: "AudioSource", StepType.PHOTO: "PictureSource"}

_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
Warn = Callable[[str], None]
CACHE_LIMIT = 50_000
# Warnings listed in the project's description; past that, a count.
LISTED_WARNINGS = 100


def _same_variable(step: Step, latest: Step) -> bool:
    """Whether the step's answers fill the variables of its latest version."""
    if step.type not in CLOSED or latest.type not in CLOSED:
        return False
    return (step.type is StepType.MULTIPLE_CHOICE) == (latest.type is StepType.MULTIPLE_CHOICE)


def _as_text(value: Any) -> str:
    return "; ".join(map(str, value)) if isinstance(value, list) else str(value)


async def person_rows(
    db: Database, version_ids: Sequence[int], campaign_id: int | None = None
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """The rows of storage.export_stream's export query, one person's runs after the other."""
    # With the transcripts: a voice note's audio source carries what was heard in it.
    async for part in stream_rows(db, version_ids, campaign_id, by_person=True, transcripts=True):
        yield part


class Project:
    """Reads the person-ordered rows of one flow; writes each person once all is read."""

    def __init__(
        self, plan: Plan, media_dir: Path, archive: zipfile.ZipFile, writer: Writer, warn: Warn
    ) -> None:
        self.plan = plan
        self.media_root = Path(media_dir).resolve()
        self.archive = archive
        self.writer = writer
        self.warn = warn
        self.warnings: list[str] = []
        self.left_out = 0
        self.runs = 0
        self.created = iso_utc(utcnow()) or ""
        self._by_step = {var.step_id: var for var in plan.variables}
        # Step ids whose answers in each version are case variables; an answer of a version
        # where the step was of another kind (text then, a choice now) goes to the text.
        self._as_variable = {
            (version.id, var.step_id)
            for var in plan.variables
            for version, step in var.seen
            if _same_variable(step, var.latest[1])
        }
        self._masker = NameMasker()
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._person: Person | None = None
        self._run: Sequence[Any] | None = None
        self._answers: list[Sequence[Any]] = []

    def feed(self, chunk: Sequence[Sequence[Any]]) -> None:
        """Take a chunk of rows; a run is handled once all its rows are in."""
        for row in chunk:
            if self._run is None or row[RUN_ID] != self._run[RUN_ID]:
                self._end_run()
                self._run = row
            if row[STEP_ID] is not None:
                self._answers.append(row)

    def close(self) -> None:
        """Handle the last run and person fed."""
        self._end_run()
        self._end_person()

    def _end_run(self) -> None:
        run = self._run
        if run is not None:
            if self._person is None or self._person.pseudonym != run[PSEUDONYM]:
                self._end_person()
                self._person = Person(run[PSEUDONYM])
            self._take(self._person, run, self._answers)
        self._run, self._answers = None, []

    def _end_person(self) -> None:
        """The finished person into the archive: text source, media, case and sources."""
        person = self._person
        if person is None:
            return
        has_text = bool(person.text)
        if has_text:
            self.archive.writestr(f"sources/{person.text_guid}.txt", "".join(person.text))
        for media in person.media:
            # Audio and pictures are compressed already.
            name = f"sources/{media.guid}{media.suffix}"
            self.archive.write(media.file, name, compress_type=zipfile.ZIP_STORED)
        self.writer.case(person, has_text, self.created)
        self._person = None

    def _take(self, person: Person, run: Sequence[Any], answers: list[Sequence[Any]]) -> None:
        self.runs += 1
        version = self.plan.versions.get(run[VERSION_ID])
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
            if (version.id, step.id) in self._as_variable:
                person.values.update(self._closed(version, step, answer[VALUE]))
                continue
            raw = _decoded(answer[VALUE])
            if raw is None:
                continue
            wording = self._wording(version, step, answer)
            if step.type in MEDIA_KINDS:
                self._media(person, run, step, raw, wording)
                if step.type is StepType.VOICE and person.media and answer[TRANSCRIPT]:
                    person.media[-1].transcript = answer[TRANSCRIPT]
            else:
                texts.append((wording, _as_text(typed_value(step, raw))))
        if texts:
            self._text(person, run, version, texts)

    def _closed(self, version: Version, step: Step, stored: str) -> dict[str, Any]:
        """The case variable values of a closed answer, worked out once per stored value."""
        key = (version.id, step.id, stored)
        found = self._cache.get(key)
        if found is None:
            var = self._by_step.get(step.id)
            typed = typed_value(step, _decoded(stored))
            lang = self.plan.source_language
            found = {}
            if var is not None and typed is not None:
                found = closed_values(var, version, step, typed, lang)
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

    def _text(
        self, person: Person, run: Sequence[Any], version: Version, texts: list[tuple[str, str]]
    ) -> None:
        """One run's free-text answers for the person's text source, under the run's head."""
        started = iso_stamp(run[STARTED]) or ""
        parts = [f"=== {self.plan.flow_id} {version.label} · {run[RUN_LOCALE]} · {started} ===\n"]
        parts += [f"\n## {wording}\n\n{text}\n" for wording, text in texts]
        person.text.append(xml_text("".join(parts)) + "\n")

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
        person.media.append(Media(new_guid(), MEDIA_KINDS[step.type], name, wording, file, suffix))

    def _note(self, text: str) -> None:
        self.left_out += 1
        if len(self.warnings) < LISTED_WARNINGS:
            self.warnings.append(text)
        self.warn(text)


def _assemble(
    archive: zipfile.ZipFile, project: Project, title: str, cases: IO[str], sources: IO[str]
) -> None:
    """project.qde from its head, the spooled cases and sources, and its tail."""
    writer = project.writer
    head = project_head(title, writer.user, project.created, list(writer.variables.values()))
    with archive.open("project.qde", "w") as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        out.write(head)
        for tag, spool, used in (
            ("Cases", cases, writer.people),
            ("Sources", sources, writer.any_source),
        ):
            if used:
                out.write(f"<{tag}>\n")
                spool.seek(0)
                shutil.copyfileobj(spool, out)
                out.write(f"</{tag}>\n")
        more = project.left_out - len(project.warnings)
        out.write(project_tail(project.warnings, more))
        out.flush()
        out.detach()


async def _fill(
    db: Database, plan: Plan, part: Path, media_dir: Path, campaign_id: int | None, warn: Warn
) -> Project:
    """Write the archive under its .part name; returns the project read."""
    spool = {"mode": "w+", "encoding": "utf-8", "dir": part.parent, "prefix": ".qdpx-"}
    with (
        tempfile.TemporaryFile(**spool) as cases,
        tempfile.TemporaryFile(**spool) as sources,
        zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        writer = Writer(case_variables(plan), cases, sources)
        project = Project(plan, media_dir, archive, writer, warn)
        async for chunk in person_rows(db, list(plan.versions), campaign_id):
            await asyncio.to_thread(project.feed, chunk)
        await asyncio.to_thread(project.close)
        newest = list(plan.versions.values())[-1].flow
        title = f"{newest.title} ({plan.flow_id})"
        await asyncio.to_thread(_assemble, archive, project, title, cases, sources)
    return project


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
    with writing(output):
        try:
            project = await _fill(db, plan, part, media_dir, campaign_id, warn or _quiet)
            if project.runs == 0 and not empty_ok:
                what = f"campaign {campaign_id} of flow" if campaign_id is not None else "flow"
                raise NoData(f"nothing to export: {what} '{plan.flow_id}' has no answers yet")
            part.replace(output)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    async with db.transaction() as repo:
        details: dict[str, Any] = {"flow": plan.flow_id, "format": "qdpx", "runs": project.runs}
        details |= {"cases": project.writer.people, "media_left_out": project.left_out}
        if campaign_id is not None:
            details["campaign"] = campaign_id
        await repo.audit(actor, "export", details)
    return [output]


def _quiet(_text: str) -> None:
    pass
