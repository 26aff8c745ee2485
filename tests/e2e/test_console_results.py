"""The console's results page and its new exports against the real `backbone run` and the
fake Bot API: results of a finished campaign previewed (small cells hidden), confirmed, and
delivered to the people's chats; a second sending only with "send again"; the hostile cases
(no CSRF token, another site, a facilitator, no session, forged sources and drafts, a running
campaign, an intro too long) change nothing; panel, person-level and SPSS exports downloaded
from the console are the CLI's files."""

# ruff: noqa: F811 (pytest fixtures imported from other test modules)
from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import httpx
import pytest

from storage.models_results import ResultSend
from tests.e2e.conftest import backbone_command
from tests.e2e.helpers import _query, act
from tests.e2e.test_campaigns import (  # noqa: F401 (fixtures)
    ADMIN,
    FIRST_QUESTION,
    FLOW,
    INVITATION,
    SECOND_QUESTION,
    admin_ready,
    campaign_env,
    invite_payload,
    join,
    zone,
)
from tests.e2e.test_console import (  # noqa: F401
    console_bot,
    csrf_of,
    login_link,
    pseudonym_of,
    signed_in_client,
)
from tests.e2e.test_console_pages import cli, deadline_in
from tests.e2e.test_results_back import (
    HEAD_EN,
    _session_with_votes,
    audit,
    result_rows,
    seed_campaign,
    sends,
    wait_until,
)

pytestmark = pytest.mark.e2e


def send_id_of(page: httpx.Response) -> str:
    return re.search(r'name="send" value="(\d+)"', page.text).group(1)


def prepare(client, token: str, source: str, intro: str = "", **headers) -> httpx.Response:
    data = {"csrf": token, "source": source, "intro": intro}
    return client.post("/console/results/prepare", data=data, headers=headers)


def test_results_from_the_console_reach_the_people(console_bot, fake_api, migrated_url) -> None:
    _, base = console_bot
    # mood: 6 good (shown); clarity: 4 clear, 2 unclear (both hidden: fewer than 5).
    people = {3000 + i: ("good", "clear" if i < 4 else "unclear") for i in range(6)}
    cid = seed_campaign(fake_api, migrated_url, people)
    admin = admin_ready(fake_api)
    client = signed_in_client(admin, base)
    me = pseudonym_of(migrated_url, ADMIN)
    page = client.get("/console/results")
    assert page.status_code == 200 and f'id="source-campaign-{cid}"' in page.text
    assert "not yet" in page.text
    token = csrf_of(page)

    preview = prepare(client, token, f"campaign:{cid}", "Thank you, partners!")
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert HEAD_EN in text and "Thank you, partners!" in text
    assert "Good: 6" in text and "Clear: fewer than 5" in text and ": 4" not in text
    assert "Took part: 6" in text and "Will get the message: 6" in text
    assert 'id="sent-before"' not in text and result_rows(migrated_url) == []
    confirmed = client.post(
        "/console/results/confirm", data={"csrf": token, "send": send_id_of(preview)}
    )
    assert confirmed.status_code == 303, confirmed.text
    assert confirmed.headers["location"] == "/console/results?planned=6"
    assert "6 messages planned" in client.get(confirmed.headers["location"]).text
    got = fake_api.user(3000).wait_for(HEAD_EN, timeout=20).content
    assert "Thank you, partners!" in got and "Good: 6" in got and "Unclear: fewer than 5" in got
    wait_until(
        lambda: sorted(r.status for r in result_rows(migrated_url)) == ["sent"] * 6,
        what="six messages sent",
    )
    [entry] = audit(migrated_url, "results_sent")
    assert entry.actor == me and entry.details["campaign"] == cid and entry.details["people"] == 6
    listed = client.get("/console/results").text
    assert "Results sent: 1 time<" in listed and "6 planned, 6 sent, 0 skipped" in listed

    # Again: the preview warns; without the tick refused, nothing planned; with it, sent.
    again = prepare(client, token, f"campaign:{cid}")
    assert again.status_code == 200 and 'id="sent-before"' in again.text
    assert 'name="again"' in again.text
    refused = client.post(
        "/console/results/confirm", data={"csrf": token, "send": send_id_of(again)}
    )
    assert refused.status_code == 409 and "Send again" in refused.text
    assert len(result_rows(migrated_url)) == 6 and len(audit(migrated_url, "results_sent")) == 1
    once_more = client.post(
        "/console/results/confirm",
        data={"csrf": token, "send": send_id_of(again), "again": "1"},
    )
    assert once_more.status_code == 303 and once_more.headers["location"].endswith("planned=6")
    wait_until(lambda: len(result_rows(migrated_url)) == 12, what="six more planned")
    # A confirmed draft cannot be confirmed twice (a replayed form).
    replay = client.post(
        "/console/results/confirm",
        data={"csrf": token, "send": send_id_of(again), "again": "1"},
    )
    assert replay.status_code == 409 and "no longer valid" in replay.text
    assert len(result_rows(migrated_url)) == 12 and len(audit(migrated_url, "results_sent")) == 2
    # Cancel drops the draft, and nothing is sent.
    draft = prepare(client, token, f"campaign:{cid}")
    drafted = len(sends(migrated_url))
    cancelled = client.post(
        "/console/results/confirm",
        data={"csrf": token, "send": send_id_of(draft), "cancel": "1"},
    )
    assert cancelled.status_code == 303 and len(sends(migrated_url)) == drafted - 1
    for secret in (str(ADMIN), "Ada", "3000"):
        assert secret not in client.get("/console/results").text


def plant_foreign_draft(url: str, campaign_id: int) -> int:
    async def fn(session):
        row = ResultSend(campaign_id=campaign_id, created_by="P-OTHER1")
        session.add(row)
        await session.flush()
        return row.id

    return _query(url, fn)


def test_hostile_results_requests_change_nothing(console_bot, fake_api, migrated_url) -> None:
    _, base = console_bot
    finished = seed_campaign(fake_api, migrated_url, {3100: ("good", "clear")})
    running = seed_campaign(
        fake_api, migrated_url, {3101: ("bad", "clear")}, status="running", group="others"
    )
    admin = admin_ready(fake_api)
    client = signed_in_client(admin, base)
    token = csrf_of(client.get("/console/results"))
    ok = f"campaign:{finished}"
    # No token, a wrong one, another site's form: refused before anything is looked at.
    for data, headers in (
        ({"source": ok}, {}),
        ({"source": ok, "csrf": "0" * 64}, {}),
        ({"source": ok, "csrf": token}, {"Origin": "https://evil.example"}),
        ({"source": ok, "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
    ):
        answer = client.post("/console/results/prepare", data=data, headers=headers)
        assert answer.status_code == 403 and "Nothing was changed" in answer.text
    assert sends(migrated_url) == []
    preview = prepare(client, token, ok)
    assert preview.status_code == 200
    sid = send_id_of(preview)
    evil = client.post(
        "/console/results/confirm",
        data={"csrf": token, "send": sid},
        headers={"Origin": "https://evil.example"},
    )
    assert evil.status_code == 403
    assert client.post("/console/results/confirm", data={"send": sid}).status_code == 403
    # Without a session at all (a participant has none): signed out.
    assert httpx.post(f"{base}/console/results/prepare", data={"source": ok}).status_code == 401
    assert httpx.get(f"{base}/console/results").status_code == 401

    # Forged sources, a forged or foreign draft: refused with the reason, never a 500.
    for source, status, reason in (
        ("campaign:99999", 404, "There is no campaign 99999."),
        ("session:NOPE42", 404, "There is no session with the code NOPE42."),
        ("campaign:1; DROP", 404, "Choose a finished campaign"),
        ("people:1", 404, "Choose a finished campaign"),
        (f"campaign:{running}", 409, "only when it is over"),
        (ok, 422, "at most 1000 characters"),
    ):
        intro = "x" * 1001 if status == 422 else ""
        answer = prepare(client, token, source, intro)
        assert answer.status_code == status, (source, answer.text)
        assert reason in answer.text, (source, answer.text)
    foreign = plant_foreign_draft(migrated_url, finished)
    for send in (str(foreign), "99999", "x"):
        answer = client.post("/console/results/confirm", data={"csrf": token, "send": send})
        assert answer.status_code == 409 and "no longer valid" in answer.text, send
    # In German: the use case's reason, localized.
    client.post("/console/language", data={"csrf": token, "locale": "de", "back": "/console/"})
    german = prepare(client, token, f"campaign:{running}")
    assert german.status_code == 409
    assert "Ergebnisse können erst nach ihrem Ende" in german.text
    assert result_rows(migrated_url) == [] and audit(migrated_url, "results_sent") == []

    # A facilitator looks at the console but may not send results.
    grant = act(admin, lambda: admin.send("/grant facilitator"), "?start=")
    payload = re.search(r"\?start=(\S+)", grant.content).group(1)
    fay = fake_api.user(3102, "Fay", "en")
    act(fay, lambda: fay.send(f"/start {payload}"), "/privacy")
    act(fay, lambda: fay.press("✅"), lambda m: True)
    fay.wait_for("facilitator")
    theirs = signed_in_client(fay, base)
    fay_token = csrf_of(theirs.get("/console/"))
    assert theirs.get("/console/results").status_code == 403
    assert "/console/results" not in theirs.get("/console/").text
    for path, data in (
        ("/console/results/prepare", {"source": ok}),
        ("/console/results/confirm", {"send": sid}),
    ):
        answer = theirs.post(path, data={"csrf": fay_token, **data})
        assert answer.status_code == 403 and "Only admins" in answer.text
    assert result_rows(migrated_url) == [] and audit(migrated_url, "results_sent") == []


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def read_sav(data: bytes, where: Path):
    """A .sav file read back with ReadStat (pyreadstat): the data and its labels."""
    pyreadstat = pytest.importorskip("pyreadstat")
    where.write_bytes(data)
    frame, meta = pyreadstat.read_sav(str(where), user_missing=True)
    return frame, meta.column_names, meta.column_labels, meta.variable_value_labels


def cli_may_fail(env, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*backbone_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def answered_campaign(fake_api, client, admin, zone) -> None:
    """A campaign made in the console; Anna answers it, Ben does not."""
    payload = invite_payload(admin, "partners")
    anna = join(fake_api, 701, payload, "Anna")
    ben = join(fake_api, 702, payload, "Ben")
    token = csrf_of(client.get("/console/campaigns/new"))
    form = {"csrf": token, "flow": FLOW, "group": "partners", "start": "", "remind": ""}
    form |= {"deadline": deadline_in(zone), "max_reminders": "0", "quiet": "20:00-08:00"}
    made = client.post("/console/campaigns/create", data={**form, "every_months": ""})
    assert made.status_code == 303, made.text
    anna.wait_for(INVITATION, timeout=30)
    ben.wait_for(INVITATION, timeout=30)
    act(anna, lambda: anna.press("▶"), FIRST_QUESTION)
    act(anna, lambda: anna.press("Good"), SECOND_QUESTION)
    act(anna, lambda: anna.press("Clear"), "Thank you")


def test_new_exports_match_the_cli(
    console_bot, fake_api, migrated_url, campaign_env, zone, tmp_path
) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    client = signed_in_client(admin, base)
    answered_campaign(fake_api, client, admin, zone)
    page = client.get("/console/exports")
    assert page.status_code == 200 and 'id="export-panel"' in page.text
    assert 'value="sav"' in page.text and 'id="export-person"' in page.text
    token = csrf_of(page)
    me = pseudonym_of(migrated_url, ADMIN)

    # Panel, CSV: the CLI's bytes, data and codebook.
    cli(campaign_env, tmp_path, "export", "panel", "--flow", FLOW, "--output", "panel.csv")
    got = client.post(
        "/console/exports/panel",
        data={"csrf": token, "flow": FLOW, "format": "csv", "layout": "wide"},
    )
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    files = unzip(got.content)
    assert sorted(files) == [f"{FLOW}-panel-wide.codebook.csv", f"{FLOW}-panel-wide.csv"]
    assert files[f"{FLOW}-panel-wide.csv"] == (tmp_path / "panel.csv").read_bytes()
    assert (
        files[f"{FLOW}-panel-wide.codebook.csv"] == (tmp_path / "panel.codebook.csv").read_bytes()
    )
    cli(campaign_env, tmp_path, "export", "panel", "--flow", FLOW, "--layout", "long",
        "--period", "months", "--excel", "--output", "long.csv")  # fmt: skip
    got = client.post(
        "/console/exports/panel",
        data={"csrf": token, "flow": FLOW, "format": "csv", "layout": "long",
              "period": "months", "excel": "1"},
    )  # fmt: skip
    assert unzip(got.content)[f"{FLOW}-panel-long.csv"] == (tmp_path / "long.csv").read_bytes()

    # Person-level: the CLI's workbook (sheets compared; the file's timestamps may differ).
    cli(campaign_env, tmp_path, "export", "person-level", "--output", "people.xlsx")
    got = client.post("/console/exports/person-level", data={"csrf": token})
    assert got.status_code == 200 and got.content[:2] == b"PK"
    assert 'filename="person-level.xlsx"' in got.headers["content-disposition"]
    ours, theirs = unzip(got.content), unzip((tmp_path / "people.xlsx").read_bytes())
    sheets = sorted(n for n in theirs if n.startswith("xl/"))
    assert sheets and sorted(n for n in ours if n.startswith("xl/")) == sheets
    assert all(ours[n] == theirs[n] for n in sheets)

    # Audited like the CLI's, with the pseudonym; bad forms refused, nothing written.
    assert {e.actor for e in audit(migrated_url, "export_person_level")} == {"cli", me}
    for path, bad in (
        ("panel", {"flow": "nope", "format": "csv"}),
        ("panel", {"flow": FLOW, "format": "qdpx"}),
        ("panel", {"flow": FLOW, "format": "csv", "period": "weeks"}),
        ("session", {"session": "NOPE42", "format": "sav"}),
    ):
        answer = client.post(f"/console/exports/{path}", data={"csrf": token, **bad})
        assert answer.status_code == 404, (path, bad, answer.text)
    assert client.post("/console/exports/person-level", data={}).status_code == 403


def test_spss_exports_match_the_cli(
    console_bot, fake_api, migrated_url, campaign_env, zone, tmp_path
) -> None:
    _, base = console_bot
    admin = admin_ready(fake_api)
    client = signed_in_client(admin, base)
    answered_campaign(fake_api, client, admin, zone)
    token = csrf_of(client.get("/console/exports"))
    # A flow's runs and its panel, read back with ReadStat: the CLI's data and labels.
    for cli_args, url, form, name in (
        (["export", "--flow", FLOW], "flow", {"layout": "wide"}, f"{FLOW}-wide.sav"),
        (["export", "panel", "--flow", FLOW], "panel", {}, f"{FLOW}-panel-wide.sav"),
    ):
        out = f"cli-{url}.sav"
        done = cli_may_fail(campaign_env, tmp_path, *cli_args, "--output", out)
        got = client.post(
            f"/console/exports/{url}", data={"csrf": token, "flow": FLOW, "format": "sav", **form}
        )
        if done.returncode != 0:
            # The writer cannot run here (the CLI fails the same way): a clear answer, no 500.
            assert "ModuleNotFoundError" in done.stderr or "ImportError" in done.stderr, done
            assert got.status_code == 422 and "cannot be written" in got.text
            continue
        assert got.status_code == 200, got.text
        files = unzip(got.content)
        assert name in files and name.replace(".sav", ".codebook.csv") in files
        ours = read_sav(files[name], tmp_path / f"console-{url}.sav")
        theirs = read_sav((tmp_path / out).read_bytes(), tmp_path / f"again-{url}.sav")
        assert ours[0].equals(theirs[0]) and ours[1:] == theirs[1:] and len(ours[0]) >= 1
    long_sav = client.post(
        "/console/exports/flow",
        data={"csrf": token, "flow": FLOW, "format": "sav", "layout": "long"},
    )
    assert long_sav.status_code == 422 and "wide" in long_sav.text


@pytest.fixture
def en_console_bot(campaign_env, request):
    """The console's bot with English as its default language (the session helpers read
    the facilitator's English poll messages)."""
    campaign_env["BACKBONE_DEFAULT_LOCALE"] = "en"
    return request.getfixturevalue("console_bot")


def test_a_session_s_results_from_the_console(en_console_bot, fake_api, migrated_url) -> None:
    _, base = en_console_bot
    admin = admin_ready(fake_api)
    users = [fake_api.user(3300 + i, f"S{i}", "en") for i in range(3)]
    code = _session_with_votes(fake_api, admin, users, lambda u: "Alpha")
    client = signed_in_client(admin, base)
    token = csrf_of(client.get("/console/results"))
    # Still open: refused with the use case's reason, and not listed.
    still_open = prepare(client, token, f"session:{code}")
    assert still_open.status_code == 409 and "still open" in still_open.text
    assert f"source-session-{code}" not in client.get("/console/results").text
    act(admin, lambda: admin.send("/close"), "🏁")
    act(admin, lambda: admin.send("/session end"), "ended")
    assert f'id="source-session-{code}"' in client.get("/console/results").text
    preview = prepare(client, token, f"session:{code.lower()}")
    assert preview.status_code == 200, preview.text
    assert "Alpha: fewer than 5" in preview.text and "Took part: 3" in preview.text
    done = client.post(
        "/console/results/confirm", data={"csrf": token, "send": send_id_of(preview)}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("planned=3")
    got = users[2].wait_for("📊 Results: “Round table”", timeout=20).content
    assert "Alpha: fewer than 5" in got and "3" not in got.split("\n", 1)[1]
    [entry] = audit(migrated_url, "results_sent")
    assert entry.details["session"] == code and entry.actor == pseudonym_of(migrated_url, ADMIN)
