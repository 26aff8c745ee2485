"""A pseudonym or join code copied out of an Arabic message still works: its invisible
direction isolates and marks come along, and are dropped before it is looked up."""

from __future__ import annotations

from bot.i18n import FSI, LRI, PDI, plain_code, translator
from bot.telegram.convert import parse_command


def test_a_command_copied_with_isolates_is_the_plain_command():
    copied = f"/revoke {FSI}P-7K3M9Q{PDI}\u200f"
    assert parse_command(copied, None) == ("revoke", "P-7K3M9Q")
    assert parse_command(f"{LRI}/whoami{PDI}", None) == ("whoami", "")


def test_what_the_arabic_catalog_shows_copies_back_as_the_code():
    t = translator("ar")
    shown = t.gettext("Your pseudonym is {pseudonym}; your role: {role}.").format(
        pseudonym="P-7K3M9Q", role="admin"
    )
    copied = shown[shown.index(FSI) : shown.index(PDI) + 1]  # what a finger selects
    assert copied == f"{FSI}P-7K3M9Q{PDI}"
    assert plain_code(copied) == "P-7K3M9Q"
    assert parse_command(f"/revoke {copied}", None) == ("revoke", "P-7K3M9Q")
