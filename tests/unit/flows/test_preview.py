"""The terminal preview, driven through piped stdin."""

from __future__ import annotations

import io
import json

from bot.preview import run_preview
from flows import SHIPPED_DIR
from flows.engine import Rejected
from flows.loader import load_flow


def fake_hint(rejected: Rejected, locale: str) -> str:
    return f"hint[{locale}]:{rejected.reason}"


def run(flow, lines: list[str], locale: str = "de"):
    stdout = io.StringIO()
    state = run_preview(
        flow, locale, fake_hint, io.StringIO("".join(f"{line}\n" for line in lines)), stdout, "Kim"
    )
    return state, stdout.getvalue()


def answers_of(output: str) -> dict:
    return json.loads(output.split("-- answers --", 1)[1])


def test_preview_runs_the_reporter_interview_to_the_end():
    flow = load_flow(SHIPPED_DIR / "reporter-interview.yaml")
    lines = [
        "Ich bin neugierig.",  # self_image
        "9",  # confidence: out of range -> hint
        "4",  # confidence
        "/back",  # back to confidence
        "5",  # confidence again
        "1",  # plan: Ausbildung
        "Mechatronik",  # plan_detail
        "ja",  # has_job (typed)
        "12,5",  # job_hours
        "1",  # support: toggle applications
        "7",  # support: toggle other
        "8",  # support: done
        "Bewerbungstraining",  # support_other
        "morgen",  # next_date: not a date -> hint
        "15.3.2026",  # next_date
        "",  # changes: empty -> the flow's reprompt
        "Neue Schule",  # changes
        "hallo",  # story: text to a voice question -> hint
        "voice",  # story
        "/skip",  # picture
    ]
    state, out = run(flow, lines)
    assert state.finished
    assert "Hallo Kim!" in out
    assert "[1] Ausbildung" in out
    assert "hint[de]:out_of_range" in out
    assert "hint[de]:not_a_date" in out
    assert "hint[de]:wrong_kind" in out
    assert "! Ein Satz reicht schon." in out
    assert "Wobei genau? Du hast gewählt – Bewerbungen schreiben, Etwas anderes." in out
    assert "Danke dir, Kim!" in out
    answers = answers_of(out)
    assert answers["confidence"] == 5
    assert answers["plan"] == "training"
    assert answers["job_hours"] == 12.5
    assert answers["support"] == ["applications", "other"]
    assert answers["next_date"] == "2026-03-15"
    assert answers["story"]["file_id"] == "preview-voice"
    assert answers["picture"] is None


def test_preview_in_english_and_quit():
    flow = load_flow(SHIPPED_DIR / "school-survey.yaml")
    state, out = run(flow, ["8", "Drawing", "/quit"], locale="en")
    assert not state.finished
    assert "Which grade are you in?" in out
    assert answers_of(out) == {"grade": 8, "strengths": "Drawing"}


def test_preview_stops_at_end_of_input():
    flow = load_flow(SHIPPED_DIR / "partner-checkup.yaml")
    state, out = run(flow, ["2"])
    assert state.current == "role_clarity"
    assert "[1] 1" not in out  # scale points are typed as themselves, not numbered
    assert "1 = gar nicht klar … 5 = völlig klar" in out
    assert answers_of(out) == {"sector": "employer"}
