"""The anchor for bench.interview: a bare python-telegram-bot that echoes every text.

    python -m bench.echo --api URL --token TOKEN

No storage, no pacing, no merge window, PTB's own long polling with its default settings: a
text message gets the same text back with `sendMessage`. The CPU this process spends per
echo against the fake Bot API on this machine is the floor the real bot's CPU per interview
answer is measured against.
"""

from __future__ import annotations

import argparse
import logging

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back, nothing else."""
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    """Run until SIGTERM."""
    ap = argparse.ArgumentParser(prog="python -m bench.echo")
    ap.add_argument("--api", required=True, help="Bot API root, e.g. http://127.0.0.1:8081")
    ap.add_argument("--token", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{args.api}/bot")
        .base_file_url(f"{args.api}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    print("echo is running", flush=True)
    app.run_polling(allowed_updates=["message"], poll_interval=0.0)


if __name__ == "__main__":
    main()
