"""Use cases: what the bot does, independent of Telegram."""
