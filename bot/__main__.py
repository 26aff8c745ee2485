"""`python -m bot` is the same as the `backbone` command."""

from bot.cli import app

app(prog_name="backbone")
