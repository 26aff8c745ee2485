"""Strict fake Telegram Bot API server and simulated people for tests and demos."""

from .people import BotMessage, SimGroup, SimUser
from .server import Call, FakeBotAPI, Fault, Rejection
from .spec import default_spec_path, load_spec

__all__ = [
    "BotMessage",
    "Call",
    "FakeBotAPI",
    "Fault",
    "Rejection",
    "SimGroup",
    "SimUser",
    "default_spec_path",
    "load_spec",
]
