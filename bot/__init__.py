"""backbone-bot: use cases, the Telegram adapter, scheduling, the CLI and the wiring."""
