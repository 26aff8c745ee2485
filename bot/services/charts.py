"""Poll results as a horizontal bar chart PNG, readable on a projector.

Pure: the same input always gives the same bytes (on the same fonts and Pillow).
Right-to-left text (Arabic) is shaped and laid out right to left: by Pillow's Raqm layout
(HarfBuzz + FriBiDi) where it is available, else reshaped and reordered here first
(arabic-reshaper + python-bidi). A chart whose title (or first label) is right to left is
mirrored: labels on the right, bars growing to the left.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass

import arabic_reshaper
from bidi import get_display
from PIL import Image, ImageDraw, ImageFont

WIDTH = 1200
MARGIN = 56
TITLE_SIZE = 46
TEXT_SIZE = 32
CAPTION_SIZE = 26
BAR_HEIGHT = 40
TITLE_MAX_LINES = 3
LABEL_MAX_LINES = 2

BACKGROUND = (255, 255, 255)
INK = (31, 41, 51)
MUTED = (100, 110, 125)
TRACK = (233, 237, 243)
BAR = (37, 99, 235)

ELLIPSIS = "…"
# More characters than fit in any title, label or caption: longer input is cut before layout.
MAX_CHARS = 1000

# DejaVu covers Latin with diacritics, Turkish, Cyrillic, Greek and Arabic; Pillow's own default
# font (Aileron) covers basic Latin only, so it is just the last resort.
_REGULAR = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_BOLD = ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
# LRM, RLM, ALM, the embeddings and overrides, the isolates
_BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def _font(size: int, bold: bool = False) -> Font:
    """The first usable font of the candidates at `size`, else Pillow's default; never raises."""
    for name in _BOLD if bold else _REGULAR:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1 or no FreeType: bitmap font
        return ImageFont.load_default()


def is_rtl_text(text: str) -> bool:
    """True if the first strongly directional character of `text` is right to left."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL", "RLE", "RLO", "RLI") for char in text)


def _raqm(font: Font) -> bool:
    """True if Pillow shapes and reorders text itself with this font (Raqm layout)."""
    return getattr(font, "layout_engine", None) == ImageFont.Layout.RAQM


def visual(text: str, font: Font) -> str:
    """What to hand Pillow for `text`: as is under Raqm, else shaped and in visual order."""
    if _raqm(font):
        return text
    if _has_rtl(text):
        text = get_display(arabic_reshaper.reshape(text))
    # without Raqm the invisible direction controls (the isolates around interpolated
    # values, marks) would be drawn as boxes: their work is done once the text is reordered
    return text.translate(_BIDI_CONTROLS)


def _width(font: Font, text: str) -> float:
    """Rendered width of `text` in pixels."""
    return font.getlength(visual(text, font))


def _draw(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Font, fill) -> None:
    """Draw logical `text` at `xy` (its left edge), shaped and ordered for display."""
    draw.text(xy, visual(text, font), font=font, fill=fill)


def _ellipsize(text: str, font: Font, width: float) -> str:
    """`text` cut and ended with an ellipsis so that it fits `width`."""
    if _width(font, text) <= width:
        return text
    lo, hi = 0, len(text)  # the longest prefix that fits with the ellipsis: text[:lo]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(font, text[:mid].rstrip() + ELLIPSIS) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS


def _split_long_word(word: str, font: Font, width: float) -> list[str]:
    """A word wider than `width` broken into pieces that each fit."""
    pieces: list[str] = []
    piece = ""
    for char in word:
        if piece and _width(font, piece + char) > width:
            pieces.append(piece)
            piece = char
        else:
            piece += char
    if piece:
        pieces.append(piece)
    return pieces


def _wrap(text: str, font: Font, width: float, max_lines: int) -> list[str]:
    """`text` wrapped at spaces to fit `width` in at most `max_lines`, the last ellipsized."""
    words: list[str] = []
    for word in " ".join(text.split()).split(" "):
        words.extend(_split_long_word(word, font, width) if _width(font, word) > width else [word])
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if line and _width(font, candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
    lines[-1] = _ellipsize(lines[-1], font, width)
    return lines


def _extent(font: Font) -> int:
    """Height from the ascender to the descender of `font`."""
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return ascent + descent
    return int(font.getbbox("Ág")[3])


def _line_height(font: Font) -> int:
    """Distance between baselines for `font`, with a little air."""
    return int(_extent(font) * 1.15)


def _text_mid(draw: ImageDraw.ImageDraw, x: float, mid: float, text: str, font: Font) -> None:
    """Draw `text` from `x`, vertically centred on `mid` (no anchors: bitmap fonts lack them)."""
    _draw(draw, (x, mid - _extent(font) / 2), text, font, INK)


def _left(layout: _Layout, x: float, width: float) -> float:
    """The left edge of a box `width` wide that starts at `x` in reading direction."""
    return WIDTH - x - width if layout.rtl else x


def _percent(count: int, total: int) -> int:
    """`count` as a whole percentage of `total`, rounded half up; 0 when `total` is 0."""
    if total <= 0:
        return 0
    return (200 * count + total) // (2 * total)


@dataclass(frozen=True)
class _Fonts:
    title: Font
    text: Font
    value: Font
    caption: Font


@dataclass(frozen=True)
class _Layout:
    """Where everything goes: decided before anything is drawn, so the height is known."""

    compact: bool
    bar_x: float
    bar_room: float
    scale: int
    title_lines: list[str]
    label_lines: list[list[str]]
    row_heights: list[int]
    row_gap: int
    height: int
    rtl: bool = False


def results_png(
    title: str,
    rows: list[tuple[str, int]],
    total_voters: int,
    caption: str = "",
    values: list[str] | None = None,
) -> bytes:
    """A PNG bar chart of `rows` (label, count) with percentages of `total_voters`, in order.

    `values` replaces the text beside each bar (small-cell suppression: a hidden cell has
    count 0, so no bar, and reads "fewer than 5"; percentages may be left out)."""
    title = title[:MAX_CHARS]
    caption = caption[:MAX_CHARS]
    rows = [(str(label)[:MAX_CHARS], count) for label, count in rows]
    fonts = _Fonts(
        _font(TITLE_SIZE, bold=True),
        _font(TEXT_SIZE),
        _font(TEXT_SIZE, bold=True),
        _font(CAPTION_SIZE),
    )
    counts = [max(0, int(count)) for _, count in rows]
    total = max(0, int(total_voters))
    if values is None or len(values) != len(counts):
        values = [f"{count} · {_percent(count, total)}%" for count in counts]
    layout = _layout(fonts, title, [label for label, _ in rows], counts, total, values, caption)

    image = Image.new("RGB", (WIDTH, int(layout.height)), BACKGROUND)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    for line in layout.title_lines:
        _draw(draw, (_left(layout, MARGIN, _width(fonts.title, line)), y), line, fonts.title, INK)
        y += _line_height(fonts.title)
    if layout.title_lines:
        y += 32
    rows_drawn = zip(layout.label_lines, counts, values, layout.row_heights, strict=True)
    for lines, count, value, row_h in rows_drawn:
        _draw_row(draw, fonts, layout, y, lines, count, value, row_h)
        y += row_h + layout.row_gap
    if rows:
        y -= layout.row_gap

    if caption:
        y += 32
        caption_line = _ellipsize(" ".join(caption.split()), fonts.caption, WIDTH - 2 * MARGIN)
        x = _left(layout, MARGIN, _width(fonts.caption, caption_line))
        _draw(draw, (x, y), caption_line, fonts.caption, MUTED)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _layout(
    fonts: _Fonts,
    title: str,
    labels: list[str],
    counts: list[int],
    total: int,
    values: list[str],
    caption: str,
) -> _Layout:
    content = WIDTH - 2 * MARGIN
    scale = max(total, *counts, 1)
    value_room = max((_width(fonts.value, v) for v in values), default=0) + 16
    bar_room = max(content - value_room, content // 2)

    # Short labels (single words, Yes/No) sit left of their bar on one line; longer ones above it.
    label_col = content * 0.3
    compact = all(_width(fonts.text, label) <= label_col for label in labels)
    bar_x = MARGIN + (label_col + 24 if compact else 0)
    bar_room = bar_room - (label_col + 24 if compact else 0)

    title_lines = _wrap(title, fonts.title, content, TITLE_MAX_LINES) if title.strip() else []
    label_lines = [
        [label] if compact else _wrap(label, fonts.text, content, LABEL_MAX_LINES)
        for label in labels
    ]
    text_h = _line_height(fonts.text)
    row_gap = 18 if compact else 26
    row_heights = [
        max(BAR_HEIGHT, text_h) if compact else len(lines) * text_h + 6 + BAR_HEIGHT
        for lines in label_lines
    ]
    title_h = len(title_lines) * _line_height(fonts.title)
    caption_h = _line_height(fonts.caption) if caption else 0
    height = (
        MARGIN
        + title_h
        + (32 if title_lines else 0)
        + sum(row_heights)
        + row_gap * max(len(labels) - 1, 0)
        + (32 + caption_h if caption else 0)
        + MARGIN
    )
    rtl = is_rtl_text(title) if title.strip() else bool(labels) and is_rtl_text(labels[0])
    return _Layout(
        compact, bar_x, bar_room, scale, title_lines, label_lines, row_heights, row_gap, height, rtl
    )


def _draw_row(
    draw: ImageDraw.ImageDraw,
    fonts: _Fonts,
    layout: _Layout,
    y: float,
    lines: list[str],
    count: int,
    value: str,
    row_h: int,
) -> None:
    text_h = _line_height(fonts.text)
    if layout.compact:
        bar_y = y + (row_h - BAR_HEIGHT) / 2
        x = _left(layout, MARGIN, _width(fonts.text, lines[0]))
        _text_mid(draw, x, y + row_h / 2, lines[0], fonts.text)
    else:
        for i, line in enumerate(lines):
            x = _left(layout, MARGIN, _width(fonts.text, line))
            _draw(draw, (x, y + i * text_h), line, fonts.text, INK)
        bar_y = y + len(lines) * text_h + 6
    bar_x, bar_room = layout.bar_x, layout.bar_room
    radius = BAR_HEIGHT // 4
    track_x = _left(layout, bar_x, bar_room)
    draw.rounded_rectangle(
        (track_x, bar_y, track_x + bar_room, bar_y + BAR_HEIGHT), radius=radius, fill=TRACK
    )
    filled = 0.0
    if count > 0:
        filled = max(bar_room * count / layout.scale, 2 * radius)
        fill_x = _left(layout, bar_x, filled)
        draw.rounded_rectangle(
            (fill_x, bar_y, fill_x + filled, bar_y + BAR_HEIGHT), radius=radius, fill=BAR
        )
    value_x = _left(layout, bar_x + filled + 14, _width(fonts.value, value))
    _text_mid(draw, value_x, bar_y + BAR_HEIGHT / 2, value, fonts.value)
