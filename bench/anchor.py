"""The anchor for bench.room: a bare python-telegram-bot that only acknowledges taps.

    python -m bench.anchor --api URL --token TOKEN

No storage, no pacing, PTB's own long polling with its default settings: `/start` gets one
message with a button, a tap on it gets `answerCallbackQuery("✓")`. Whatever latency this
shows against the fake Bot API on this machine is the floor the real bot is measured against.
"""

from __future__ import annotations

import argparse
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)


async def start(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """One message with one button."""
    keys = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    await update.effective_message.reply_text("Tap", reply_markup=keys)


async def tap(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge the tap, nothing else."""
    await update.callback_query.answer("✓")


def bare_app(prog: str) -> Application:
    """A python-telegram-bot application with PTB's defaults, against the Bot API root and
    token given on the command line (`--api URL --token TOKEN`)."""
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--api", required=True, help="Bot API root, e.g. http://127.0.0.1:8081")
    ap.add_argument("--token", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    return (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{args.api}/bot")
        .base_file_url(f"{args.api}/file/bot")
        .build()
    )


def main() -> None:
    """Run until SIGTERM."""
    app = bare_app("python -m bench.anchor")
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(tap))
    print("anchor is running", flush=True)
    app.run_polling(allowed_updates=["message", "callback_query"], poll_interval=0.0)


if __name__ == "__main__":
    main()
