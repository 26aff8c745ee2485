"""The anchor for bench.interview: a bare python-telegram-bot that echoes every text.

    python -m bench.echo --api URL --token TOKEN

No storage, no pacing, no merge window, PTB's own long polling with its default settings: a
text message gets the same text back with `sendMessage`. The CPU this process spends per
echo against the fake Bot API on this machine is the floor the real bot's CPU per interview
answer is measured against.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bench.anchor import bare_app


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back, nothing else."""
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    """Run until SIGTERM."""
    app = bare_app("python -m bench.echo")
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    print("echo is running", flush=True)
    app.run_polling(allowed_updates=["message"], poll_interval=0.0)


if __name__ == "__main__":
    main()
