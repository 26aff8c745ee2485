"""End-to-end fixtures: the real `backbone run` process against the fake Bot API server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakebot.server import FakeBotAPI

TOKEN = "123456:TEST-token"


def backbone_command() -> list[str]:
    """The installed console script if there is one, else the same entry point via -m."""
    script = Path(sys.executable).parent / "backbone"
    if script.exists():
        return [str(script)]
    found = shutil.which("backbone")
    return [found] if found else [sys.executable, "-m", "bot"]


class BotProcess:
    """A `backbone run` subprocess that tests can start, SIGKILL and restart."""

    def __init__(self, server: FakeBotAPI, env: dict[str, str], workdir: Path) -> None:
        self.server = server
        self.env = env
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.starts}.log"

    def start(self, timeout: float = 30) -> None:
        """Start the bot and wait until it says it is running."""
        self.starts += 1
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*backbone_command(), "run"],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while "is running" not in self.log():
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited early:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"bot did not start polling:\n{self.log()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crash or a pulled plug."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait for a clean exit."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        """Everything the bot printed in its latest run."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@pytest.fixture
def fake_api() -> Iterator[FakeBotAPI]:
    """A strict fake Bot API; the test fails if the bot made a call Telegram would refuse."""
    server = FakeBotAPI(token=TOKEN)
    server.start()
    try:
        yield server
        assert server.errors == [], f"the bot made calls Telegram would refuse: {server.errors}"
    finally:
        server.stop()


@pytest.fixture
def bot_env(fake_api: FakeBotAPI, migrated_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for a bot process: fake API, fresh database, shipped flows, fast merging."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKBONE_")}
    env.update(
        BACKBONE_TELEGRAM_TOKEN=TOKEN,
        BACKBONE_TELEGRAM_API_URL=fake_api.url,
        BACKBONE_DATABASE_URL=migrated_url,
        BACKBONE_MEDIA_DIR=str(tmp_path / "media"),
        BACKBONE_TEXT_MERGE_SECONDS="1",
        BACKBONE_ADMIN_IDS="9000",
        # Scripted people tap faster than humans; the flood test sets its own limit.
        BACKBONE_FLOOD_LIMIT="1000",
        BACKBONE_WEB_PORT="0",  # many bots at once: no web server unless a test asks for one
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def bot(fake_api: FakeBotAPI, bot_env: dict[str, str], tmp_path: Path) -> Iterator[BotProcess]:
    """A running bot; stopped (and its log shown on failure) after the test."""
    process = BotProcess(fake_api, bot_env, tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        log = process.log()
        if "Traceback" in log:
            print(log)
