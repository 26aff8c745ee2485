"""The chat's use cases behind one name: the dispatcher with every router (see wiring).

Kept so the Telegram side, tests and benchmarks can go on constructing `Conversation(db,
catalog, ...)`; new code calls `bot.services.wiring.build_dispatcher`.
"""

from __future__ import annotations

from bot.services.catalog import FlowCatalog
from bot.services.dispatch import Dispatcher
from bot.services.routers.interviews import MediaStore
from bot.services.routers.texts import help_text, language_buttons, minor_text, privacy_text
from bot.services.wiring import NOTICE_VERSION, make_config, register_routers
from storage.repo import Database

__all__ = [
    "NOTICE_VERSION",
    "Conversation",
    "MediaStore",
    "help_text",
    "language_buttons",
    "minor_text",
    "privacy_text",
]


class Conversation(Dispatcher):
    """The dispatcher, built as `build_dispatcher(db, catalog, **options)` builds it."""

    def __init__(
        self, db: Database, catalog: FlowCatalog, *, media: MediaStore | None = None, **settings
    ) -> None:
        super().__init__(db, make_config(**settings))
        register_routers(self, catalog, media)
