"""The console router: /console gives a staff member a one-time login link."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services import console
from bot.services.context import Ctx

if TYPE_CHECKING:
    from bot.services.dispatch import Dispatcher


class Console:
    """/console; `url` is the web server's public address (None while it is off)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.config = dispatcher.config
        self.url: str | None = None

    def register(self) -> None:
        """The /console command; the composition root finds this router as `.console`."""
        self.dispatcher.command(("console",), self._console)
        self.dispatcher.console = self  # type: ignore[attr-defined] (set once the web is up)

    async def _console(self, ctx: Ctx, args: str) -> None:
        await console.console_command(ctx, self.url, self.config.clock())
