"""Composition root: builds the real application from settings and runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from urllib.parse import quote

from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ApplicationBuilder

from bot.services.campaigns import CampaignRunner
from bot.services.catalog import FlowCatalog
from bot.services.flood import FloodGuard
from bot.services.results_outbox import ResultsRunner
from bot.services.retention import start_sweep
from bot.services.transcripts import start_worker
from bot.services.wiring import build_dispatcher
from bot.settings import Settings, SettingsError
from bot.telegram.adapter import TelegramAdapter, TelegramMediaStore
from bot.telegram.polling import ChatLanes, poll
from bot.telegram.ratelimit import SendPacer
from bot.telegram.results_sender import ResultsSender
from bot.telegram.sender import OutboxSender
from bot.telegram.timers import TimerSweep
from bot.telegram.webhook import WebhookIntake, leave_webhook, webhook_intake
from bot.web.server import WebServer, start_web
from storage.migrate import upgrade
from storage.models import utcnow
from storage.repo import Database

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start for a reason outside its configuration (e.g. no network)."""


def build(settings: Settings) -> tuple[Application, TelegramAdapter, Database]:
    """Wire database, flows, use cases and the Telegram adapter together."""
    root = settings.telegram_api_url
    app = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .updater(None)
        .build()
    )
    db = Database(settings.database_url)
    catalog = FlowCatalog(settings.flows_dir)
    dispatcher = build_dispatcher(
        db,
        catalog,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
        text_merge_seconds=settings.text_merge_seconds,
        media=TelegramMediaStore(app, settings.media_dir),
        admin_ids=frozenset(settings.admin_ids),
        notice_version=settings.privacy_notice_version,
        media_dir=settings.media_dir,
        delete_mode=settings.delete_mode,
        min_cell_size=settings.min_cell_size,
    )
    # /console's login links point at the web server (none while it is off).
    dispatcher.console.url = settings.web_url if settings.web_port else None
    flood = FloodGuard(settings.flood_limit, settings.flood_window, settings.flood_pause)
    adapter = TelegramAdapter(app, dispatcher, flood, SendPacer(settings.send_rate))
    adapter.campaigns = CampaignRunner(
        db,
        catalog,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
        clock=utcnow,
    )
    adapter.results = ResultsRunner(
        db,
        catalog,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
        clock=utcnow,
        k=settings.min_cell_size,
    )
    # One lane per chat, shared by intake and the timer sweep: a chat's due timers and its
    # updates never run at the same time.
    lanes = ChatLanes()
    adapter.timers = TimerSweep(dispatcher, adapter.deliver, lanes)
    return app, adapter, db


async def serve(settings: Settings) -> None:
    """Run the bot until SIGINT/SIGTERM."""
    app, adapter, db = build(settings)
    stop = asyncio.Event()
    web: WebServer | None = None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await app.initialize()
        except InvalidToken:
            raise SettingsError("BACKBONE_TELEGRAM_TOKEN was rejected by Telegram") from None
        except NetworkError as exc:
            raise StartupError(
                f"cannot reach the Bot API at {settings.telegram_api_url}: {exc}"
            ) from None
        adapter.conversation.bot_username = app.bot.username
        await app.start()
        await adapter.publish_commands()
        await adapter.restore_timers()
        hook = webhook_intake(settings, app, adapter) if settings.webhook_url else None
        web = await _start_web(settings, db, app, adapter, hook)
        polling = asyncio.create_task(await _intake(app, adapter, stop, hook))
        log.info("backbone-bot @%s is running", app.bot.username)
        sending = asyncio.create_task(OutboxSender(adapter, adapter.campaigns).run(stop))
        results_back = asyncio.create_task(ResultsSender(adapter, adapter.results).run(stop))
        timers = asyncio.create_task(adapter.timers.run(stop))
        retaining = start_sweep(db, settings.flows_dir, settings.media_dir, stop)
        transcribing = start_worker(
            settings.transcribe_model, settings.transcribe_threads, db, settings.media_dir, stop
        )
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({polling, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        stopper.cancel()
        # The intake lets the updates in hand finish and confirms them; the sender finishes
        # the batch in hand (a message cut off mid-send would be reported as uncertain after
        # the restart); the sweep finishes its rows; the queue sends what people are owed.
        for task, seconds in (
            (polling, 20),
            (sending, 15),
            (results_back, 15),
            (timers, 5),
            (retaining, 5),
            (transcribing, 5),
        ):
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout=seconds)
        await adapter.outbound.join(timeout=15)
        await adapter.carrier.learned.flush()
        if polling.done() and not polling.cancelled() and polling.exception():
            raise polling.exception()
    finally:
        if web is not None:
            await web.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await db.dispose()


async def _intake(app, adapter, stop: asyncio.Event, hook: WebhookIntake | None):
    """The intake to run: the webhook (registered now), or long polling (any webhook an
    earlier start set removed first: getUpdates fails while one is set)."""
    if hook is not None:
        await hook.register()
        return hook.run(stop)
    await leave_webhook(app.bot)
    return poll(app, stop, adapter.on_update, adapter.timers.lanes, adapter.replies_sent)


async def _start_web(settings, db, app, adapter, hook) -> WebServer | None:
    problem = None
    try:
        web = await start_web(settings, db, app.bot.username, hook)
    except OSError as exc:
        problem = f"the web server cannot listen on {settings.web_host}:{settings.web_port}"
        problem += f": {exc.strerror or exc} (set BACKBONE_WEB_PORT; 0 turns it off)"
    if problem:
        # Raised outside the handler: a port in use must not read as a database problem.
        raise StartupError(problem)
    if web is not None:
        # /session then gives the facilitator the projector link too.
        adapter.conversation.polls.desk.projector_url = settings.web_url
    return web


class RedactToken(logging.Filter):
    """Replaces the bot token in every log record (PTB logs the Bot API URL, httpx every
    request URL, and both contain `bot<token>`), tracebacks included."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        secret = token.partition(":")[2] if token else ""
        forms = {token, quote(token or "", safe="")} | ({secret} if len(secret) >= 8 else set())
        self.forms = sorted((f for f in forms if f), key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every form of the token replaced by `<token>`."""
        for form in self.forms:
            text = text.replace(form, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.forms:
            return True
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def run(settings: Settings) -> None:
    """Migrate the database, then serve (blocking)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    redact = RedactToken(settings.telegram_token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    # httpx logs every request URL, and those contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(serve(settings))


def event_loop_factory():
    """uvloop's event loop where it is installed (Linux, macOS), else asyncio's own."""
    # Every update, send and database call passes through the loop several times (the
    # SQLite driver's thread wakes it for each result): uvloop makes each pass cheaper.
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
