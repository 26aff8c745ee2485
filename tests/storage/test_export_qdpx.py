"""`backbone export --format qdpx`: a REFI-QDA project (MAXQDA, ATLAS.ti, NVivo, QualCoder).

The archive opens as a ZIP, project.qde validates against the REFI-QDA Project.xsd (copied
into tests/fixtures/refi-qda), one case per pseudonym carries the closed answers as
variables, free text is one text source per person with the wordings as headings, voice
notes and photos are audio and picture sources; nothing in the archive names a person.
Hostile: no runs, missing media files (and a path climbing out of the media directory),
text XML 1.0 cannot carry.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema

from flows.model import Flow, Step, StepType
from storage.export import NoData, export_flow_qdpx
from storage.export_qde import NAMESPACE
from storage.repo import Database
from tests.conftest import REPO_ROOT
from tests.storage import exportdata as data

pytestmark = pytest.mark.storage

SCHEMA = xmlschema.XMLSchema(REPO_ROOT / "tests" / "fixtures" / "refi-qda" / "Project.xsd")
NS = {"q": NAMESPACE}
OGG = b"OggS\x00\x02fake voice note"
JPEG = b"\xff\xd8\xff\xe0fake photo"


def q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


class Qdpx:
    """An exported archive, opened and checked for what every .qdpx must be."""

    def __init__(self, path: Path) -> None:
        assert zipfile.is_zipfile(path)
        with zipfile.ZipFile(path) as archive:
            self.files = {name: archive.read(name) for name in archive.namelist()}
        assert next(iter(self.files)) == "project.qde"
        qde = self.files["project.qde"]
        SCHEMA.validate(qde.decode("utf-8"))  # raises on any error
        self.root = ElementTree.fromstring(qde)
        self.variables = {
            v.get("guid"): v for v in self.root.iterfind("q:Variables/q:Variable", NS)
        }
        sources = self.root.find("q:Sources", NS)
        self.sources = {s.get("guid"): s for s in (sources if sources is not None else [])}
        # Every internal path points to a file of the archive, and every file is pointed to.
        paths = {s.get("plainTextPath") or s.get("path") for s in self.sources.values()}
        assert {p.removeprefix("internal://") for p in paths} == {
            name.removeprefix("sources/") for name in self.files if name != "project.qde"
        }

    def cases(self) -> dict[str, dict]:
        """{pseudonym: {"values": {variable: (element, text)}, "sources": [source elements]}}"""
        out = {}
        for case in self.root.iterfind("q:Cases/q:Case", NS):
            values = {}
            for vv in case.iterfind("q:VariableValue", NS):
                var = self.variables[vv.find("q:VariableRef", NS).get("targetGUID")]
                value = vv[1]
                values[var.get("name")] = (value.tag.removeprefix(f"{{{NAMESPACE}}}"), value.text)
            refs = [r.get("targetGUID") for r in case.iterfind("q:SourceRef", NS)]
            out[case.get("name")] = {"values": values, "sources": [self.sources[g] for g in refs]}
        return out

    def text_of(self, source: ElementTree.Element) -> str:
        path = source.get("plainTextPath").removeprefix("internal://")
        return self.files[f"sources/{path}"].decode("utf-8")

    def blob(self) -> bytes:
        return b"".join(self.files.values())


async def seed_with_media(db: Database, media: Path) -> data.Seeded:
    """The export test data plus run D (P2, v2): voice note and photo on disk, scale, number."""
    seeded = await data.seed(db)
    p1, p2 = seeded.pseudonyms["p1"], seeded.pseudonyms["p2"]
    async with db.transaction() as repo:
        participant = await repo.participant_by_pseudonym(p2)
        run = await repo.add_run(participant.id, seeded.version_ids["2026-2"], "de", {})
        run.status = "complete"
        seeded.run_ids["D"] = run.id
        save = repo.save_answer
        await save(run.id, "confidence", 5, False, "Wie genau weißt du, was du willst?", "de")
        await save(run.id, "age", 19, False, "Wie alt bist du?", "de")
        await save(run.id, "has_job", "no", False, "Hast du einen Nebenjob?", "de")
        voice = {"file_id": data.SECRET_FILE_IDS[0], "path": f"{p2}/run{run.id}-voice_note.ogg"}
        await save(run.id, "voice_note", voice, False, "Erzähl uns etwas.", "de")
        photo = {"file_id": data.SECRET_FILE_IDS[1], "path": f"{p2}/run{run.id}-picture.jpg"}
        await save(run.id, "picture", photo, False, "Schick uns ein Foto.", "de")
    for path, content in (
        (f"{p1}/run{seeded.run_ids['A']}-voice_note.ogg", OGG),
        (f"{p2}/run{run.id}-voice_note.ogg", OGG + b"2"),
        (f"{p2}/run{run.id}-picture.jpg", JPEG),
    ):
        (media / path).parent.mkdir(parents=True, exist_ok=True)
        (media / path).write_bytes(content)
    return seeded


async def export(db: Database, flow_id: str, out: Path, media: Path, **kw) -> list[str]:
    warnings: list[str] = []
    await export_flow_qdpx(db, flow_id, out, media_dir=media, warn=warnings.append, **kw)
    return warnings


async def test_cases_variables_and_sources(db: Database, tmp_path: Path) -> None:
    media = tmp_path / "media"
    seeded = await seed_with_media(db, media)
    p1, p2 = seeded.pseudonyms["p1"], seeded.pseudonyms["p2"]
    warnings = await export(db, data.FLOW_ID, tmp_path / "out.qdpx", media)
    # Run C's photo was never downloaded: said, and left out.
    assert warnings == [
        f"photo of {p1} (run {seeded.run_ids['C']}, picture): the bot has no file of it "
        "(not downloaded), left out"
    ]
    qdpx = Qdpx(tmp_path / "out.qdpx")
    assert qdpx.root.get("name") == f"Reporter-Test ({data.FLOW_ID})"
    assert [u.get("name") for u in qdpx.root.iterfind("q:Users/q:User", NS)] == ["backbone-bot"]
    assert warnings[0] in qdpx.root.find("q:Description", NS).text
    kinds = {v.get("name"): v.get("typeOfVariable") for v in qdpx.variables.values()}
    assert kinds == {
        "flow_version": "Text",
        "language": "Text",
        "status": "Text",
        "plan": "Text",
        "support__mentor": "Boolean",
        "support__money": "Boolean",
        "support__time": "Boolean",
        "support__friends": "Boolean",
        "confidence": "Integer",
        "age": "Integer",
        "has_job": "Boolean",
        "job_since": "Date",
    }
    cases = qdpx.cases()
    assert list(cases) == [p1, p2]  # P3 answered another flow only
    # The latest answer given, over the person's runs (P1: runs A then C).
    assert cases[p1]["values"] == {
        "flow_version": ("TextValue", "2026-2"),
        "language": ("TextValue", "de"),
        "status": ("TextValue", "incomplete"),
        "plan": ("TextValue", "Ausbildung"),
        "support__mentor": ("BooleanValue", "true"),
        "support__money": ("BooleanValue", "false"),
        "support__time": ("BooleanValue", "false"),
        "support__friends": ("BooleanValue", "true"),
        "confidence": ("IntegerValue", "4"),
        "age": ("IntegerValue", "17"),
        "has_job": ("BooleanValue", "true"),
        "job_since": ("DateValue", "2026-09-01"),
    }
    assert cases[p2]["values"] == {
        "flow_version": ("TextValue", "2026-2"),
        "language": ("TextValue", "de"),
        "status": ("TextValue", "complete"),
        "plan": ("TextValue", "Weiß noch nicht"),
        "confidence": ("IntegerValue", "5"),
        "age": ("IntegerValue", "19"),
        "has_job": ("BooleanValue", "false"),
    }
    tags = {p: [s.tag for s in c["sources"]] for p, c in cases.items()}
    assert tags == {
        p1: [q("TextSource"), q("AudioSource")],
        p2: [q("TextSource"), q("AudioSource"), q("PictureSource")],
    }
    text1 = qdpx.text_of(cases[p1]["sources"][0])
    # Wording as a heading, then the answer; the name shown in the wording is masked.
    assert "## Wie geht's dir, {first_name}?\n\nGut, danke! Übermüdet, aber froh 😊\n" in text1
    assert "## Wie geht's dir, {first_name}?\n\n=1+1 gefährlich\n" in text1
    assert text1.index("2026-1") < text1.index("=1+1")  # runs in order
    text2 = qdpx.text_of(cases[p2]["sources"][0])
    assert '## What do you wish for?\n\nMehr Praktika in Köln; und "Ruhe"\nzweite Zeile' in text2
    audio1 = cases[p1]["sources"][1]
    assert qdpx.files[f"sources/{audio1.get('guid')}.ogg"] == OGG
    assert audio1.find("q:Description", NS).text == "Erzähl uns etwas per Sprachnachricht."
    picture = cases[p2]["sources"][2]
    assert qdpx.files[f"sources/{picture.get('guid')}.jpg"] == JPEG
    assert qdpx.files[f"sources/{cases[p2]['sources'][1].get('guid')}.ogg"] == OGG + b"2"


async def test_nothing_in_the_archive_names_a_person(db: Database, tmp_path: Path) -> None:
    media = tmp_path / "media"
    await seed_with_media(db, media)
    await export(db, data.FLOW_ID, tmp_path / "out.qdpx", media)
    blob = Qdpx(tmp_path / "out.qdpx").blob()
    for who in data.SECRETS.values():
        for secret in who.values():
            assert str(secret).encode() not in blob, secret
    for file_id in data.SECRET_FILE_IDS:
        assert file_id.encode() not in blob
    guids = [e.get("guid") for e in Qdpx(tmp_path / "out.qdpx").root.iter() if e.get("guid")]
    assert len(guids) == len(set(guids))  # a GUID per object


async def test_guids_are_fresh_per_export(db: Database, tmp_path: Path) -> None:
    media = tmp_path / "media"
    await seed_with_media(db, media)
    await export(db, data.FLOW_ID, tmp_path / "a.qdpx", media)
    await export(db, data.FLOW_ID, tmp_path / "b.qdpx", media)
    a, b = Qdpx(tmp_path / "a.qdpx"), Qdpx(tmp_path / "b.qdpx")
    assert not set(a.sources) & set(b.sources)


async def test_a_missing_or_escaping_media_file_is_left_out_and_said(
    db: Database, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    seeded = await seed_with_media(db, media)
    p1, run_a = seeded.pseudonyms["p1"], seeded.run_ids["A"]
    (media / f"{p1}/run{run_a}-voice_note.ogg").unlink()
    # A stored path that climbs out of the media directory is never followed.
    (tmp_path / "secret.jpg").write_bytes(b"outside")
    async with db.transaction() as repo:
        await repo.save_answer(
            seeded.run_ids["C"], "picture", {"path": "../secret.jpg"}, False, "Foto?", "de"
        )
    warnings = await export(db, data.FLOW_ID, tmp_path / "out.qdpx", media)
    assert warnings == [
        f"voice note of {p1} (run {run_a}, voice_note): file {p1}/run{run_a}-voice_note.ogg "
        "is not in the media directory, left out",
        f"photo of {p1} (run {seeded.run_ids['C']}, picture): file ../secret.jpg is not in "
        "the media directory, left out",
    ]
    qdpx = Qdpx(tmp_path / "out.qdpx")
    assert [s.tag for s in qdpx.cases()[p1]["sources"]] == [q("TextSource")]
    assert b"outside" not in qdpx.blob()
    assert all(w in qdpx.root.find("q:Description", NS).text for w in warnings)


def hostile_flow() -> Flow:
    return Flow(
        id="hostile",
        title='Böse <&> "Flow"',
        version="1",
        steps=[
            Step(id="say", type=StepType.TEXT, text='Was <meinst> du & "warum"?\x07'),
            Step(
                id="pick",
                type=StepType.SINGLE_CHOICE,
                text="Wähle ]]> \udc00",
                options={"a": "A & <b>\x1b", "b": "B"},
            ),
        ],
    )


async def test_text_xml_cannot_carry_is_replaced(db: Database, tmp_path: Path) -> None:
    flow = hostile_flow()
    answer = "a<b & \"c\" 'd' ]]> \ud83d x\x01y\x0bz\ufffe!"
    async with db.transaction() as repo:
        # A fixed hash: content_hash() cannot encode a lone surrogate.
        fv = await repo.flow_version(flow.id, flow.version, "0" * 64, flow.model_dump(mode="json"))
        identity = await repo.add_participant(7_200_001, 7_200_001, "Xaverine", None, "de")
        run = await repo.add_run(identity.participant_id, fv.id, "de", {})
        await repo.save_answer(run.id, "say", answer, False, "Was <meinst> du?\x07", "de")
        await repo.save_answer(run.id, "pick", "a", False, "Wähle ]]>", "de")
    await export(db, "hostile", tmp_path / "h.qdpx", tmp_path / "media")
    qdpx = Qdpx(tmp_path / "h.qdpx")  # valid against the schema
    assert qdpx.root.get("name") == 'Böse <&> "Flow" (hostile)'
    (case,) = qdpx.cases().values()
    assert case["values"]["pick"] == ("TextValue", "A & <b>\ufffd")
    text = qdpx.text_of(case["sources"][0])
    assert "## Was <meinst> du?\ufffd\n\na<b & \"c\" 'd' ]]> \ufffd x\ufffdy\ufffdz\ufffd!" in text
    descriptions = [v.find("q:Description", NS).text for v in qdpx.variables.values()]
    assert "Wähle ]]> \ufffd [a = A & <b>\ufffd; b = B]" in descriptions
    assert b"Xaverine" not in qdpx.blob()


async def test_a_flow_without_runs_is_no_data_unless_empty_ok(db: Database, tmp_path: Path) -> None:
    flow = Flow(
        id="leer",
        title="Leer",
        version="1",
        steps=[Step(id="q", type=StepType.SCALE, text="Wie?", min=1, max=5)],
    )
    async with db.transaction() as repo:
        await repo.flow_version(
            flow.id, flow.version, flow.content_hash(), flow.model_dump(mode="json")
        )
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(NoData, match="nothing to export: flow 'leer' has no answers yet"):
        await export(db, "leer", out / "e.qdpx", tmp_path)
    assert list(out.iterdir()) == []  # no archive, no .part, no work folder
    with pytest.raises(LookupError):
        await export(db, "nope", out / "n.qdpx", tmp_path)
    await export(db, "leer", out / "e.qdpx", tmp_path, empty_ok=True)
    assert list(out.iterdir()) == [out / "e.qdpx"]
    qdpx = Qdpx(out / "e.qdpx")
    assert qdpx.cases() == {} and qdpx.sources == {}
    assert "q" in [v.get("name") for v in qdpx.variables.values()]


def backbone(url: str, cwd: Path, media: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(BACKBONE_DATABASE_URL=url, BACKBONE_MEDIA_DIR=str(media))
    env.update(PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", "export", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_cli_writes_a_qdpx(db: Database, migrated_url: str, tmp_path: Path) -> None:
    media = tmp_path / "media"
    seeded = await seed_with_media(db, media)
    flow = ("--flow", data.FLOW_ID)
    done = backbone(migrated_url, tmp_path, media, *flow, "--format", "qdpx", "-o", "p.qdpx")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "wrote p.qdpx\n"
    # The never-downloaded photo of run C: one warning line, the export still written.
    assert done.stderr.startswith("warning: photo of ") and done.stderr.count("\n") == 1
    cases = Qdpx(tmp_path / "p.qdpx").cases()
    assert list(cases) == [seeded.pseudonyms["p1"], seeded.pseudonyms["p2"]]
    # The format follows the suffix; another name needs --format.
    done = backbone(migrated_url, tmp_path, media, *flow, "-o", "q.QDPX")
    assert done.returncode == 0 and Qdpx(tmp_path / "q.QDPX").cases().keys() == cases.keys()
    done = backbone(migrated_url, tmp_path, media, *flow, "--format", "qdpx", "-o", "p.zip")
    assert done.returncode == 0 and zipfile.is_zipfile(tmp_path / "p.zip")
    # Refused: an existing file, a layout, CSV options; nothing written.
    done = backbone(migrated_url, tmp_path, media, *flow, "-o", "p.qdpx")
    assert done.returncode == 1 and "--force" in done.stderr
    done = backbone(migrated_url, tmp_path, media, *flow, "-o", "l.qdpx", "--layout", "long")
    assert done.returncode == 2 and "--layout: not for .qdpx files" in done.stderr
    done = backbone(migrated_url, tmp_path, media, *flow, "-o", "x.qdpx", "--excel")
    assert done.returncode == 2 and "--excel: only for CSV files" in done.stderr
    assert not (tmp_path / "l.qdpx").exists() and not (tmp_path / "x.qdpx").exists()
    done = backbone(migrated_url, tmp_path, media, "--flow", "nope", "-o", "n.qdpx")
    assert done.returncode == 1 and "nope" in done.stderr
