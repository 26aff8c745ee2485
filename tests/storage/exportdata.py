"""A two-version test flow, runs and answers in the database, and the export they must give.

Everything the exports must contain is spelled out literally in EXPECTED_WIDE / EXPECTED_LONG
(typed, as in JSON); the tests derive the CSV and XLSX cell values from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flows.model import Flow, Step, StepType
from storage import transcripts
from storage.models import Run
from storage.repo import Database
from storage.transcripts import Heard, Pending

FLOW_ID = "reporter-test"

# Identity data that must never appear in any export file.
SECRETS = {
    "p1": {
        "telegram_user_id": 987654321001,
        "chat_id": 987654321001,
        "first_name": "Jürgenwolf",
        "username": "geheim_user_one",
    },
    "p2": {
        "telegram_user_id": 987654321002,
        "chat_id": 555000111222,
        "first_name": "Ölgarda",
        "username": "zweite_person",
    },
    "p3": {
        "telegram_user_id": 987654321003,
        "chat_id": 987654321003,
        "first_name": "Drittmann",
        "username": "dritte_person",
    },
}
# Telegram file ids are tied to the bot and are not for analysts; exports carry paths or
# file_unique_id only.
SECRET_FILE_IDS = ["AwACAgIAAxkBAAIBsecretvoice", "AgACAgIAAxkBAAIBsecretphoto"]


def _step(**kw: Any) -> Step:
    return Step(**kw)


def make_flow(version: str) -> Flow:
    """The test flow; version "2026-2" adds `wishes`, option `friends` and rewords `confidence`."""
    v2 = version == "2026-2"
    steps = [
        _step(
            id="intro", type=StepType.MESSAGE, text="Hallo {first_name}! Schön, dass du da bist."
        ),
        _step(id="mood", type=StepType.TEXT, text="Wie geht's dir, {first_name}?"),
        _step(
            id="plan",
            type=StepType.SINGLE_CHOICE,
            text="Was hast du nach der Schule vor?",
            options={"training": "Ausbildung", "study": "Studium", "unsure": "Weiß noch nicht"},
        ),
    ]
    if v2:
        steps.append(
            _step(id="wishes", type=StepType.TEXT, text="Was wünschst du dir?", optional=True)
        )
    support = {"mentor": "Mentor*in", "money": "Geld", "time": "Zeit für mich"}
    if v2:
        support["friends"] = "Freund*innen"
    steps += [
        _step(
            id="support",
            type=StepType.MULTIPLE_CHOICE,
            text="Was würde dir helfen?",
            options=support,
            optional=True,
        ),
        _step(
            id="confidence",
            type=StepType.SCALE,
            text="Wie genau weißt du, was du willst?" if v2 else "Wie gut weißt du, was du willst?",
            min=1,
            max=5,
            min_label="gar nicht",
            max_label="sehr genau",
        ),
        _step(id="age", type=StepType.NUMBER, text="Wie alt bist du?", min=10, max=30),
        _step(id="has_job", type=StepType.YES_NO, text="Hast du einen Nebenjob?"),
        _step(
            id="job_since",
            type=StepType.DATE,
            text="Seit wann?",
            when='has_job == "yes"',
            optional=True,
        ),
        _step(
            id="voice_note",
            type=StepType.VOICE,
            text="Erzähl uns etwas per Sprachnachricht.",
            optional=True,
        ),
        _step(id="picture", type=StepType.PHOTO, text="Schick uns ein Foto.", optional=True),
        _step(id="bye", type=StepType.MESSAGE, text="Danke, {first_name}!"),
    ]
    en = {
        "mood.text": "How are you, {first_name}?",
        "plan.text": "What are your plans after school?",
        "plan.option.training": "Apprenticeship",
        "plan.option.study": "University",
        "plan.option.unsure": "Not sure yet",
        "support.text": "What would help you?",
        "support.option.mentor": "A mentor",
        "support.option.money": "Money",
        "support.option.time": "Time for me",
        "confidence.text": "How well do you know what you want?",
        "age.text": "How old are you?",
    }
    if v2:
        en["wishes.text"] = "What do you wish for?"
        en["support.option.friends"] = "Friends"
        # The German text changed in v2; the English translation of it is still missing.
        del en["confidence.text"]
    return Flow(
        id=FLOW_ID,
        title="Reporter-Test",
        version=version,
        language="de",
        languages=["de", "en"],
        steps=steps,
        translations={"en": en},
    )


def other_flow() -> Flow:
    """A second flow whose runs must never show up in the export of FLOW_ID."""
    return Flow(
        id="other-flow",
        title="Andere",
        version="1",
        steps=[Step(id="mood", type=StepType.TEXT, text="Anderes?")],
    )


def ts(minute: int, second: int = 0, hour: int = 9) -> datetime:
    """A moment on 2026-11-02 (UTC) with a sub-second part that exports must drop."""
    return datetime(2026, 11, 2, hour, minute, second, 654321, tzinfo=UTC)


def iso(minute: int, second: int = 0, hour: int = 9) -> str:
    """The export form of ts(...)."""
    return f"2026-11-02T{hour:02d}:{minute:02d}:{second:02d}Z"


BERLIN_WINTER = timezone(timedelta(hours=1))


@dataclass
class Seeded:
    """What seed() created."""

    pseudonyms: dict[str, str] = field(default_factory=dict)
    run_ids: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    version_ids: dict[str, int] = field(default_factory=dict)


async def seed(db: Database) -> Seeded:
    """Participants, two flow versions, three runs of FLOW_ID and one of another flow."""
    out = Seeded()
    v1, v2 = make_flow("2026-1"), make_flow("2026-2")
    async with db.transaction() as repo:
        ids = {}
        for key, who in SECRETS.items():
            identity = await repo.add_participant(
                who["telegram_user_id"], who["chat_id"], who["first_name"], who["username"], "de"
            )
            out.pseudonyms[key] = identity.participant.pseudonym
            ids[key] = identity.participant_id
        for flow in (v1, v2):
            row = await repo.flow_version(
                flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
            )
            out.hashes[flow.version] = flow.content_hash()
            out.version_ids[flow.version] = row.id
        other = other_flow()
        other_row = await repo.flow_version(
            other.id, other.version, other.content_hash(), other.model_dump(mode="json")
        )

        async def run(
            key: str,
            who: str,
            version: str | int,
            locale: str,
            status: str,
            started: datetime,
            finished: datetime | None,
        ) -> Run:
            fv = out.version_ids[version] if isinstance(version, str) else version
            r = await repo.add_run(ids[who], fv, locale, {"current": None, "answers": {}})
            r.status = status
            r.started_at = started
            r.finished_at = finished
            out.run_ids[key] = r.id
            return r

        # Run A: P1 on v1, German, complete; changed the plan answer once.
        a = await run("A", "p1", "2026-1", "de", "complete", ts(30, 15), ts(41, 7))
        p1 = out.pseudonyms["p1"]
        save = repo.save_answer
        await save(
            a.id,
            "mood",
            "Gut, danke! Übermüdet, aber froh 😊",
            False,
            "Wie geht's dir, Jürgenwolf?",
            "de",
            ts(31),
        )
        await save(
            a.id, "plan", "training", False, "Was hast du nach der Schule vor?", "de", ts(32)
        )
        await save(
            a.id, "plan", "study", False, "Was hast du nach der Schule vor?", "de", ts(35, 30)
        )
        await save(
            a.id, "support", ["mentor", "time"], False, "Was würde dir helfen?", "de", ts(33)
        )
        await save(
            a.id,
            "confidence",
            4,
            False,
            "Wie gut weißt du, was du willst?\n\n1 = gar nicht … 5 = sehr genau",
            "de",
            ts(34),
        )
        await save(a.id, "age", 17, False, "Wie alt bist du?", "de", ts(36))
        await save(a.id, "has_job", "yes", False, "Hast du einen Nebenjob?", "de", ts(37))
        # Given in local time: stored and exported in UTC.
        await save(
            a.id,
            "job_since",
            "2026-09-01",
            False,
            "Seit wann?",
            "de",
            datetime(2026, 11, 2, 10, 38, 0, tzinfo=BERLIN_WINTER),
        )
        voice = {
            "file_id": SECRET_FILE_IDS[0],
            "file_unique_id": "AgADvoice1",
            "duration": 12,
            "mime_type": "audio/ogg",
            "path": f"{p1}/run{a.id}-voice_note.ogg",
        }
        spoken = await save(
            a.id, "voice_note", voice, False, "Erzähl uns etwas per Sprachnachricht.", "de", ts(39)
        )
        await repo.session.flush()
        heard = Heard(TRANSCRIPT_TEXT, "de", 0.98, 0.81, 12.0)
        item = Pending(spoken.id, spoken.revision, voice["path"], "de")
        await transcripts.store(repo.session, item, heard, "test-model")
        await save(a.id, "picture", None, True, "Schick uns ein Foto.", "de", ts(40))

        # Run B: P2 on v2, English, still active (exported as incomplete).
        b = await run("B", "p2", "2026-2", "en", "active", ts(5, 0, 10), None)
        await save(b.id, "mood", "Fine, thanks", False, "How are you, Ölgarda?", "en", ts(6, 0, 10))
        await save(
            b.id, "plan", "unsure", False, "What are your plans after school?", "en", ts(7, 0, 10)
        )
        await save(
            b.id,
            "wishes",
            'Mehr Praktika in Köln; und "Ruhe"\nzweite Zeile',
            False,
            "What do you wish for?",
            "en",
            ts(8, 0, 10),
        )
        await save(b.id, "support", None, True, "What would help you?", "en", ts(9, 0, 10))

        # Run C: P1 again, now on v2, German, stopped (incomplete); saved out of flow order.
        c = await run("C", "p1", "2026-2", "de", "incomplete", ts(0, 0, 11), ts(20, 0, 11))
        photo = {
            "file_id": SECRET_FILE_IDS[1],
            "file_unique_id": "AQADphoto2",
            "width": 800,
            "height": 600,
            "path": None,
        }
        await save(c.id, "picture", photo, False, "Schick uns ein Foto.", "de", ts(5, 0, 11))
        await save(
            c.id,
            "mood",
            "=1+1 gefährlich",
            False,
            "Wie geht's dir, Jürgenwolf?",
            "de",
            ts(1, 0, 11),
        )
        await save(
            c.id, "plan", "training", False, "Was hast du nach der Schule vor?", "de", ts(2, 0, 11)
        )
        await save(
            c.id,
            "support",
            ["friends", "mentor"],
            False,
            "Was würde dir helfen?",
            "de",
            ts(3, 0, 11),
        )

        # P3 only answered another flow.
        d = await repo.add_run(ids["p3"], other_row.id, "de", {})
        await save(d.id, "mood", "anderes", False, "Anderes?", "de", ts(0, 0, 12))
    return out


WIDE_STEP_COLUMNS = [
    "mood",
    "plan",
    "wishes",
    "support",
    "support__mentor",
    "support__money",
    "support__time",
    "support__friends",
    "confidence",
    "age",
    "has_job",
    "job_since",
    "voice_note",
    "voice_note__transcript",
    "picture",
]
RUN_COLUMNS = [
    "pseudonym",
    "run_id",
    "flow_id",
    "flow_version",
    "version_hash",
    "language",
    "status",
    "started_at",
    "finished_at",
]
LONG_COLUMNS = [
    *RUN_COLUMNS,
    "step_id",
    "step_type",
    "value",
    "value_label",
    "skipped",
    "shown_text",
    "answered_at",
    "updated_at",
    "revision",
    "transcript",
]
# What the (seeded) speech-to-text heard in run A's voice note.
TRANSCRIPT_TEXT = "Ich mache ein Praktikum in Köln; „super“, sagt sie"


def _run_part(s: Seeded, key: str) -> dict[str, Any]:
    who, version, lang, status, started, finished = {
        "A": ("p1", "2026-1", "de", "complete", iso(30, 15), iso(41, 7)),
        "B": ("p2", "2026-2", "en", "incomplete", iso(5, 0, 10), None),
        "C": ("p1", "2026-2", "de", "incomplete", iso(0, 0, 11), iso(20, 0, 11)),
    }[key]
    return {
        "pseudonym": s.pseudonyms[who],
        "run_id": s.run_ids[key],
        "flow_id": FLOW_ID,
        "flow_version": version,
        "version_hash": s.hashes[version][:12],
        "language": lang,
        "status": status,
        "started_at": started,
        "finished_at": finished,
    }


def expected_wide(s: Seeded) -> list[dict[str, Any]]:
    """The wide rows (typed), one per run in run order."""
    blank = dict.fromkeys(WIDE_STEP_COLUMNS)
    a = {
        **_run_part(s, "A"),
        **blank,
        "mood": "Gut, danke! Übermüdet, aber froh 😊",
        "plan": "study",
        "support": ["mentor", "time"],
        "support__mentor": 1,
        "support__money": 0,
        "support__time": 1,
        "support__friends": None,  # v1 did not offer it
        "confidence": 4,
        "age": 17,
        "has_job": "yes",
        "job_since": "2026-09-01",
        "voice_note": f"{s.pseudonyms['p1']}/run{s.run_ids['A']}-voice_note.ogg",
        "voice_note__transcript": TRANSCRIPT_TEXT,
        "picture": None,  # skipped
    }
    b = {
        **_run_part(s, "B"),
        **blank,
        "mood": "Fine, thanks",
        "plan": "unsure",
        "wishes": 'Mehr Praktika in Köln; und "Ruhe"\nzweite Zeile',
    }
    c = {
        **_run_part(s, "C"),
        **blank,
        "mood": "=1+1 gefährlich",
        "plan": "training",
        "support": ["mentor", "friends"],
        "support__mentor": 1,
        "support__money": 0,
        "support__time": 0,
        "support__friends": 1,
        "picture": "AQADphoto2",
    }
    return [a, b, c]


def expected_long(s: Seeded) -> list[dict[str, Any]]:
    """The long rows (typed): per run in run order, answers in the flow order of its version."""

    def row(key, step, kind, value, label, skipped, shown, answered, updated, revision=1):
        return {
            **_run_part(s, key),
            "step_id": step,
            "step_type": kind,
            "value": value,
            "value_label": label,
            "skipped": skipped,
            "shown_text": shown,
            "answered_at": answered,
            "updated_at": updated,
            "revision": revision,
            "transcript": TRANSCRIPT_TEXT if (key, step) == ("A", "voice_note") else None,
        }

    legend = "\n\n1 = gar nicht … 5 = sehr genau"
    voice = f"{s.pseudonyms['p1']}/run{s.run_ids['A']}-voice_note.ogg"
    return [
        row(
            "A",
            "mood",
            "text",
            "Gut, danke! Übermüdet, aber froh 😊",
            None,
            0,
            "Wie geht's dir, {first_name}?",
            iso(31),
            iso(31),
        ),
        row(
            "A",
            "plan",
            "single_choice",
            "study",
            "Studium",
            0,
            "Was hast du nach der Schule vor?",
            iso(32),
            iso(35, 30),
            2,
        ),
        row(
            "A",
            "support",
            "multiple_choice",
            ["mentor", "time"],
            ["Mentor*in", "Zeit für mich"],
            0,
            "Was würde dir helfen?",
            iso(33),
            iso(33),
        ),
        row(
            "A",
            "confidence",
            "scale",
            4,
            None,
            0,
            "Wie gut weißt du, was du willst?" + legend,
            iso(34),
            iso(34),
        ),
        row("A", "age", "number", 17, None, 0, "Wie alt bist du?", iso(36), iso(36)),
        row("A", "has_job", "yes_no", "yes", None, 0, "Hast du einen Nebenjob?", iso(37), iso(37)),
        row("A", "job_since", "date", "2026-09-01", None, 0, "Seit wann?", iso(38), iso(38)),
        row(
            "A",
            "voice_note",
            "voice",
            voice,
            None,
            0,
            "Erzähl uns etwas per Sprachnachricht.",
            iso(39),
            iso(39),
        ),
        row("A", "picture", "photo", None, None, 1, "Schick uns ein Foto.", iso(40), iso(40)),
        row(
            "B",
            "mood",
            "text",
            "Fine, thanks",
            None,
            0,
            "How are you, {first_name}?",
            iso(6, 0, 10),
            iso(6, 0, 10),
        ),
        row(
            "B",
            "plan",
            "single_choice",
            "unsure",
            "Not sure yet",
            0,
            "What are your plans after school?",
            iso(7, 0, 10),
            iso(7, 0, 10),
        ),
        row(
            "B",
            "wishes",
            "text",
            'Mehr Praktika in Köln; und "Ruhe"\nzweite Zeile',
            None,
            0,
            "What do you wish for?",
            iso(8, 0, 10),
            iso(8, 0, 10),
        ),
        row(
            "B",
            "support",
            "multiple_choice",
            None,
            None,
            1,
            "What would help you?",
            iso(9, 0, 10),
            iso(9, 0, 10),
        ),
        row(
            "C",
            "mood",
            "text",
            "=1+1 gefährlich",
            None,
            0,
            "Wie geht's dir, {first_name}?",
            iso(1, 0, 11),
            iso(1, 0, 11),
        ),
        row(
            "C",
            "plan",
            "single_choice",
            "training",
            "Ausbildung",
            0,
            "Was hast du nach der Schule vor?",
            iso(2, 0, 11),
            iso(2, 0, 11),
        ),
        row(
            "C",
            "support",
            "multiple_choice",
            ["mentor", "friends"],
            ["Mentor*in", "Freund*innen"],
            0,
            "Was würde dir helfen?",
            iso(3, 0, 11),
            iso(3, 0, 11),
        ),
        row(
            "C",
            "picture",
            "photo",
            "AQADphoto2",
            None,
            0,
            "Schick uns ein Foto.",
            iso(5, 0, 11),
            iso(5, 0, 11),
        ),
    ]
