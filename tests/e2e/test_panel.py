"""A panel end to end: a reporter answers wave 1 (a campaign), a second campaign starts wave 2,
the bot quotes the wave-1 answer, and `backbone export panel` holds both waves in one row."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from flows import SHIPPED_DIR
from storage.models import Campaign
from tests.conftest import REPO_ROOT
from tests.e2e.helpers import _query, act
from tests.e2e.test_campaigns import (
    NEVER_QUIET,
    admin_ready,
    campaign_messages,
    daytime_zone,
    invite_payload,
    join,
    running,
    runs_of,
    wait_until,
)

pytestmark = pytest.mark.e2e

FLOW = "reporter-panel"
FLOW_YAML = """\
id: reporter-panel
title: Reporter panel
version: "1"
language: en
steps:
  - id: follow_up
    type: text
    text: "Last time you wanted {previous.plans}. How is that going?"
    when: previous.plans != None
  - id: plans
    type: text
    text: "What do you plan next?"
"""


@pytest.fixture
def pbot(fake_api, bot_env, tmp_path) -> Iterator:
    flows_dir = tmp_path / "flows"
    shutil.copytree(SHIPPED_DIR, flows_dir)
    (flows_dir / f"{FLOW}.yaml").write_text(FLOW_YAML, encoding="utf-8")
    bot_env["BACKBONE_FLOWS_DIR"] = str(flows_dir)
    bot_env["BACKBONE_TIMEZONE"] = daytime_zone()
    with running(fake_api, bot_env, tmp_path) as process:
        yield process


def start_campaign(url: str, group: str) -> int:
    """A confirmed campaign of the panel flow, due now."""
    now = datetime.now(UTC)

    async def fn(session):
        campaign = Campaign(
            flow_id=FLOW,
            groups=[group],
            status="scheduled",
            start_at=now,
            deadline=now + timedelta(minutes=10),
            remind_after=[],
            max_reminders=0,
            quiet_start=NEVER_QUIET[0],
            quiet_end=NEVER_QUIET[1],
            texts={},
            created_by="P-TEST01",
        )
        session.add(campaign)
        await session.flush()
        return campaign.id

    return _query(url, fn)


def start_wave(reporter, campaign_id: int, expect: str) -> None:
    """Wait for the campaign's invitation, tap ▶ Start, see the first question."""
    reporter.wait_for(lambda m: campaign_messages(reporter, campaign_id), timeout=20)
    [invitation] = campaign_messages(reporter, campaign_id)
    act(reporter, lambda: reporter.press("▶ Start", invitation.message_id), expect)


def test_wave_two_quotes_wave_one_and_the_panel_has_both(pbot, fake_api, migrated_url, tmp_path):
    admin = admin_ready(fake_api)
    reporter = join(fake_api, 5101, invite_payload(admin, "reporters"))

    first = start_campaign(migrated_url, "reporters")
    start_wave(reporter, first, "What do you plan next?")
    reporter.send("an apprenticeship")
    wait_until(lambda: [r for r in runs_of(migrated_url, 5101) if r.status == "complete"])

    second = start_campaign(migrated_url, "reporters")
    quoted = "Last time you wanted an apprenticeship. How is that going?"
    start_wave(reporter, second, quoted)
    act(reporter, lambda: reporter.send("Going well, second year now"), "What do you plan next?")
    reporter.send("Finish it")
    wait_until(
        lambda: len([r for r in runs_of(migrated_url, 5101) if r.status == "complete"]) == 2,
        what="the second wave to finish",
    )

    out = tmp_path / "panel.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(BACKBONE_DATABASE_URL=migrated_url, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "export", "panel", "--flow", FLOW, "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with open(out, encoding="utf-8-sig", newline="") as fh:
        [row] = list(csv.DictReader(fh))  # one person: one row
    assert row["plans__w1"] == "an apprenticeship"
    assert row["follow_up__w1"] == ""  # not asked in the first wave
    assert row["follow_up__w2"] == "Going well, second year now"
    assert row["plans__w2"] == "Finish it"
    assert row["status__w1"] == row["status__w2"] == "complete"
    assert "5101" not in out.read_text(encoding="utf-8-sig")  # no Telegram id
