"""The retention sweep inside `backbone run`: at start, then on its interval; a failure is
logged and the sweep tried again; it ends when the bot stops."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.services import retention


async def test_the_sweep_runs_again_after_a_failure_and_stops_with_the_bot(
    monkeypatch, tmp_path: Path, caplog
):
    calls: list[dict] = []

    async def apply(db, rules, media_dir, actor=retention.ACTOR, now=None):
        calls.append(rules)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return []

    monkeypatch.setattr(retention, "apply", apply)
    monkeypatch.setattr(retention, "START_DELAY", 0.01)
    monkeypatch.setattr(retention, "SWEEP_SECONDS", 0.05)
    (tmp_path / "kurz.yaml").write_text(
        'id: kurz\ntitle: K\nversion: "1"\nretain_identity_months: 6\n'
        "steps:\n  - id: q\n    type: text\n    text: Frage?\n",
        encoding="utf-8",
    )
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR):
        task = retention.start_sweep(object(), tmp_path, tmp_path / "media", stop)
        while len(calls) < 3:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=1)
    assert calls[0] == {"kurz": 6} and all(c == calls[0] for c in calls)
    assert "the retention sweep failed" in caplog.text
    done = len(calls)
    await asyncio.sleep(0.1)
    assert len(calls) == done
