"""QR codes for join links, shown on a projector so people in the room can scan them."""

from __future__ import annotations

import io

import segno


def qr_png(link: str, scale: int = 10) -> bytes:
    """A PNG of a regular (never Micro) QR code of `link`: error level M or better, border 2."""
    if not link:
        raise ValueError("a QR code needs a non-empty link")
    code = segno.make_qr(link, error="m")
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
