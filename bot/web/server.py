"""uvicorn as one task of the bot's event loop (no signal handlers of its own: the bot's
SIGTERM handling stops everything, this server included)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        # uvicorn would replace the process's SIGINT/SIGTERM handlers and raise the signal
        # again after its shutdown; the bot owns those signals.
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; OSError (e.g. the port is taken) before anything runs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class WebServer:
    """Starts the app on a socket, and stops it (open live streams end at once)."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        config = uvicorn.Config(
            app,
            lifespan="off",
            access_log=False,
            log_config=None,  # the bot's logging setup applies
            timeout_graceful_shutdown=3,
        )
        self.server = _Server(config)
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        """Bind (raising OSError if that fails) and serve in the background."""
        sock = bind(self.host, self.port)
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.01)
        if self.task.done():
            self.task.result()
            raise RuntimeError("the web server stopped while starting")
        log.info("web server listening on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, end the live streams, wait a little for the rest."""
        if self.task is None:
            return
        self.app.state.pages.stopping.set()
        self.server.should_exit = True
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self.task, timeout=5)
        self.task = None


async def start_web(settings, db, bot_username: str, webhook=None) -> WebServer | None:
    """The web server of `backbone run`, listening; None when BACKBONE_WEB_PORT is 0."""
    from bot.services.projector import Projector
    from bot.web.app import create_app
    from bot.web.console_app import console_routes

    if settings.web_port == 0:
        return None
    projector = Projector(
        db, settings.default_locale, bot_username, min_cell_size=settings.min_cell_size
    )
    web = WebServer(
        create_app(
            projector,
            settings.database_url,
            webhook=webhook,
            console=console_routes(db, settings, bot_username),
        ),
        settings.web_host,
        settings.web_port,
    )
    await web.start()
    return web
