"""Gettext catalogs of the bot's own texts (Babel): messages.pot and <lang>/LC_MESSAGES/*.po."""
