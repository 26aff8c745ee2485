"""Operations as a new user meets them: one data directory every command finds, a missing or
unreachable database in one line (exit 2) and never created by accident, --version, clean
--help, JSON logs, and the preview's commands and locales."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.unit.test_cli import backbone


def one_line(result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- the data directory --------------------------------------------------------------------


def test_every_command_finds_the_database_in_the_data_dir_wherever_it_starts(tmp_path: Path):
    data, here, there = tmp_path / "data", tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    env = {"BACKBONE_DATA_DIR": str(data)}
    assert backbone("db", "upgrade", env=env, cwd=here).returncode == 0
    assert (data / "backbone.db").is_file()
    created = backbone("groups", "create", "partners", env=env, cwd=here)
    assert created.returncode == 0, created.stderr
    listed = backbone("groups", "list", env=env, cwd=there)
    assert listed.returncode == 0, listed.stderr
    assert "partners  0 members" in listed.stdout
    assert list(here.iterdir()) == [] and list(there.iterdir()) == []  # no ./data anywhere


def test_the_default_data_dir_is_the_users_not_the_working_directory(tmp_path: Path):
    # platformdirs: $XDG_DATA_HOME/backbone-bot on Linux.
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert backbone("db", "upgrade", env=env, cwd=tmp_path / "a").returncode == 0
    assert (tmp_path / "xdg" / "backbone-bot" / "backbone.db").is_file()
    assert backbone("audit", env=env, cwd=tmp_path / "b").returncode == 0


def test_settings_derive_database_and_media_from_the_data_dir(tmp_path: Path, monkeypatch):
    from bot.settings import load_settings

    for name in ("DATABASE_URL", "MEDIA_DIR", "DATA_DIR"):
        monkeypatch.delenv(f"BACKBONE_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BACKBONE_DATA_DIR", "relative/dir")
    settings = load_settings()
    root = tmp_path / "relative" / "dir"
    assert settings.data_dir == root  # made absolute once
    assert settings.database_url == f"sqlite+aiosqlite:///{root / 'backbone.db'}"
    assert settings.media_dir == root / "media"
    # Explicit settings still win (tests and production set them).
    monkeypatch.setenv("BACKBONE_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("BACKBONE_MEDIA_DIR", str(tmp_path / "m"))
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.media_dir == tmp_path / "m"


# --- a database that is not there or cannot be reached -------------------------------------

STAFF_COMMANDS = [
    ["groups", "list"],
    ["groups", "show", "partners"],
    ["groups", "create", "partners"],
    ["groups", "add", "partners", "P-7K3M9Q"],
    ["groups", "invite", "partners", "--bot-username", "alliance_bot"],
    ["campaign", "list"],
    ["campaign", "status", "1"],
    ["campaign", "pause", "1"],
    ["audit"],
    ["anonymise", "--all", "--yes"],
    ["anonymise", "--flow", "reporter-interview", "--yes"],
]


@pytest.mark.parametrize("args", STAFF_COMMANDS, ids=" ".join)
def test_a_missing_database_is_one_line_exit_2_and_is_not_created(tmp_path: Path, args):
    data = tmp_path / "nothing-here"
    result = backbone(*args, env={"BACKBONE_DATA_DIR": str(data)}, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line(result)
    assert line.startswith("backbone: no database at ") and "backbone db upgrade" in line
    assert not data.exists()
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "args", [*STAFF_COMMANDS, ["db", "upgrade"], ["run"]], ids=lambda a: " ".join(a)
)
def test_an_unreachable_postgresql_is_one_line_and_exit_2(tmp_path: Path, args):
    # Port 1 on the loopback: refused at once.
    url = "postgresql://backbone:s3cret-pw@127.0.0.1:1/backbone"
    env = {"BACKBONE_DATABASE_URL": url, "BACKBONE_TELEGRAM_TOKEN": "1:x"}
    result = backbone(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line(result)
    assert "cannot reach the database at postgresql+asyncpg://backbone:***@127.0.0.1:1" in line
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_an_unreachable_telegram_at_start_is_not_called_a_database_problem(tmp_path: Path):
    # The database is fine (created and migrated on start); the Bot API is not there. Seen
    # pasting the README's first command on a machine without internet.
    env = {
        "BACKBONE_DATA_DIR": str(tmp_path / "data"),
        "BACKBONE_TELEGRAM_TOKEN": "123456:replace-with-your-token-from-BotFather",
        "BACKBONE_TELEGRAM_API_URL": "http://127.0.0.1:1",
        "BACKBONE_WEB_PORT": "0",
    }
    result = backbone("run", env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("backbone: cannot reach the Bot API at http://127.0.0.1:1"), last
    assert "database" not in last and "Traceback" not in result.stderr
    assert "replace-with-your-token" not in result.stderr


def test_db_upgrade_and_run_may_create_the_database(tmp_path: Path):
    data = tmp_path / "fresh"
    result = backbone("db", "upgrade", env={"BACKBONE_DATA_DIR": str(data)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (data / "backbone.db").is_file()


# --- version, help, logs --------------------------------------------------------------------


def test_version():
    result = backbone("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"backbone-bot {version('backbone-bot')}"


@pytest.mark.parametrize(
    "args",
    [[], ["campaign", "create"], ["groups", "invite"], ["anonymise"], ["try"], ["export"]],
    ids=lambda a: " ".join(a) or "backbone",
)
def test_help_has_no_odd_placeholders(args):
    result = backbone(*args, "--help", env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    for odd in ("<bool>", "<str>", "<int>", "<path>"):
        assert odd not in result.stdout


def test_json_log_lines_carry_the_message_and_the_redacted_traceback():
    from bot.app import RedactToken
    from bot.logs import JsonFormatter

    token = "123456:AAE-secret-part-of-the-token"
    try:
        raise RuntimeError(f"GET https://api.telegram.org/bot{token}/getMe failed")
    except RuntimeError:
        record = logging.LogRecord(
            "bot.app", logging.ERROR, __file__, 1, "boom %s", ("x",), sys.exc_info()
        )
    RedactToken(token).filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.app"
    assert entry["message"] == "boom x"
    assert "RuntimeError" in entry["exc"] and "<token>" in entry["exc"]
    assert "secret-part" not in json.dumps(entry)
    assert entry["time"].endswith("+00:00")


def test_setup_logging_plain_by_default_and_json_by_setting(capsys):
    from bot.logs import setup_logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("INFO", "plain")
        logging.getLogger("t").info("plain line")
        setup_logging("INFO", "json")
        logging.getLogger("t").info("json line")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].endswith("INFO t: plain line")
    assert json.loads(err[1])["message"] == "json line"


def test_a_malformed_log_format_is_one_line(tmp_path: Path):
    result = backbone("run", env={"BACKBONE_TELEGRAM_TOKEN": "1:x", "BACKBONE_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert "BACKBONE_LOG_FORMAT" in one_line(result)


# --- the preview ----------------------------------------------------------------------------


def preview(stdin: str, *args: str):
    return backbone("try", "reporter-interview", *args, stdin=stdin)


def answers_of(stdout: str) -> dict:
    return json.loads(stdout.split("-- answers --", 1)[1])


@pytest.mark.parametrize("command", ["/help", "/pause", "/back", "/resume", "/start x"])
def test_commands_on_the_first_question_are_never_answers(command: str):
    result = preview(f"{command}\nIch bin Alex\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert answers_of(result.stdout) == {"self_image": "Ich bin Alex"}
    # the first question is shown again after the command
    assert result.stdout.count("Wie würdest du dich in ein paar Sätzen beschreiben?") >= 2


def test_back_on_the_first_question_says_so_and_pause_explains_itself():
    out = preview("/back\n/pause\n/help\n/quit\n").stdout
    assert "this is the first question" in out
    assert "paused" in out
    assert out.count("/pause = pause") == 2  # the header and /help


def test_an_unknown_locale_is_refused_in_one_line():
    result = preview("", "--locale", "fr")
    assert result.returncode == 2
    line = one_line(result)
    assert "--locale fr" in line and "de" in line and "en" in line
    assert result.stdout == ""


def test_a_regional_locale_previews_in_its_language():
    result = preview("/quit\n", "--locale", "en-GB")
    assert result.returncode == 0, result.stderr
    assert "version 2026-1, en) ==" in result.stdout.splitlines()[0]


def test_the_date_hint_example_is_written_like_the_question():
    from bot.i18n import translator
    from bot.services.hints import hint
    from flows.answers import parse_date_text
    from flows.engine import Rejected

    # The shipped question says "z. B. 15.03.2026"; the hint used to say 31.03.26 (de) and
    # 3/31/26 (en, which the day-first parser does not even take).
    for locale in ("de", "en", "uk"):
        text = hint(Rejected("not_a_date", {}), translator(locale))
        assert "31.03.2026" in text, text
        assert parse_date_text("31.03.2026", locale) == date(2026, 3, 31)


# --- the files a new installation reads ------------------------------------------------------


def test_env_example_lists_every_setting_and_loads():
    from bot.settings import Settings
    from tests.conftest import REPO_ROOT

    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"BACKBONE_{name.upper()}=" in text, name
    # As shipped (everything commented out but an empty token) it is a valid .env.
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert lines == ["BACKBONE_TELEGRAM_TOKEN="]


def test_the_licence_is_the_one_pyproject_names():
    import tomllib

    from tests.conftest import REPO_ROOT

    meta = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["license"] == {"text": "MIT"}
    assert (REPO_ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_only_connection_errors_count_as_an_unreachable_database():
    import socket

    from storage.db import unreachable

    url = "postgresql+asyncpg://u:pw@db.internal/backbone"
    for exc in (ConnectionRefusedError(111, "Connection refused"), socket.gaierror(-2, "nope")):
        problem = unreachable(exc, url)
        assert problem is not None and "***@db.internal" in str(problem)
    wrapped = RuntimeError("while connecting")
    wrapped.__cause__ = TimeoutError()
    assert "timed out" in str(unreachable(wrapped, url))
    # A file that cannot be written (an export's output) is not the database.
    for exc in (FileExistsError(17, "File exists"), PermissionError(13, "Permission denied")):
        assert unreachable(exc, url) is None
    assert unreachable(ValueError("no"), url) is None
