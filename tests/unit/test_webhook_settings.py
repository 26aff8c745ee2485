"""Webhook settings: what is accepted, and the one-line errors for what is not."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_MAX_CONNECTIONS", "WEB_PORT"):
        monkeypatch.delenv(f"BACKBONE_{name}", raising=False)

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"BACKBONE_{name.upper()}", value)

    return set_


def test_polling_is_the_default(env):
    settings = load_settings()
    assert settings.webhook_url == "" and settings.webhook_secret == ""
    assert settings.webhook_max_connections == 40


def test_a_webhook_with_secret(env):
    env(webhook_url=" https://bot.example.org/telegram/x ", webhook_secret="a-B_9" * 10)
    settings = load_settings()
    assert settings.webhook_url == "https://bot.example.org/telegram/x"
    assert settings.webhook_secret == "a-B_9" * 10


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"webhook_url": "bot.example.org/telegram"}, "BACKBONE_WEBHOOK_URL"),
        ({"webhook_url": "https://bot.example.org"}, "needs a path"),
        ({"webhook_url": "https://bot.example.org/"}, "needs a path"),
        ({"webhook_secret": "no spaces allowed"}, "BACKBONE_WEBHOOK_SECRET"),
        ({"webhook_secret": "ä"}, "BACKBONE_WEBHOOK_SECRET"),
        ({"webhook_secret": "x" * 257}, "BACKBONE_WEBHOOK_SECRET"),
        ({"webhook_max_connections": "101"}, "BACKBONE_WEBHOOK_MAX_CONNECTIONS"),
        ({"webhook_max_connections": "0"}, "BACKBONE_WEBHOOK_MAX_CONNECTIONS"),
        ({"webhook_url": "https://b.example.org/t", "web_port": "0"}, "BACKBONE_WEB_PORT"),
    ],
)
def test_bad_webhook_settings_are_one_clear_line(env, values, says):
    env(**values)
    with pytest.raises(SettingsError, match=says):
        load_settings()
