"""Charts with Arabic labels: shaped, right to left, and the chart mirrored for them."""

import io

import arabic_reshaper
import pytest
from bidi import get_display
from PIL import Image, ImageChops, ImageDraw, ImageFont

from bot.services import charts
from bot.services.charts import is_rtl_text, results_png, visual

LABEL = "دعم خلال فترة التجربة"  # "support during the probation period"
FONT = "DejaVuSans.ttf"


def _basic_fonts(monkeypatch):
    """Pillow without Raqm: the chart must shape and reorder Arabic itself."""

    def font(size, bold=False):
        name = "DejaVuSans-Bold.ttf" if bold else FONT
        return ImageFont.truetype(name, size, layout_engine=ImageFont.Layout.BASIC)

    monkeypatch.setattr(charts, "_font", font)


def _ink(image: Image.Image) -> Image.Image:
    """Dark pixels (text), cropped to their bounding box, as a 1-bit mask."""
    mask = image.convert("L").point(lambda v: 255 if v < 110 else 0).convert("1")
    box = mask.getbbox()
    assert box is not None, "nothing drawn"
    return mask.crop(box)


def _reference(text: str, basic_text: str | None = None) -> Image.Image:
    font = ImageFont.truetype(FONT, charts.TEXT_SIZE, layout_engine=ImageFont.Layout.BASIC)
    image = Image.new("RGB", (1200, 80), (255, 255, 255))
    ImageDraw.Draw(image).text((5, 5), basic_text or text, font=font, fill=(0, 0, 0))
    return _ink(image)


def _count(mask: Image.Image) -> int:
    return mask.convert("L").histogram()[255]


def _iou(a: Image.Image, b: Image.Image) -> float:
    """Overlap of two ink masks aligned at their right edges (where right-to-left text starts)."""
    w, h = max(a.width, b.width), max(a.height, b.height)
    big_a, big_b = Image.new("1", (w, h), 0), Image.new("1", (w, h), 0)
    big_a.paste(a, (w - a.width, 0))
    big_b.paste(b, (w - b.width, 0))
    both = _count(ImageChops.logical_and(big_a, big_b))
    either = _count(ImageChops.logical_or(big_a, big_b))
    return both / either


def _label_ink(png: bytes) -> Image.Image:
    """The label column of a one-row compact chart without title: right of the bars in RTL."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    content = charts.WIDTH - 2 * charts.MARGIN
    left = int(charts.WIDTH - charts.MARGIN - content * 0.3 - 4)
    return _ink(image.crop((left, 0, charts.WIDTH, image.height)))


def test_direction_of_a_text_is_its_first_strong_character():
    assert is_rtl_text(LABEL)
    assert is_rtl_text("42 % نعم")
    assert not is_rtl_text("Pizza نعم")
    assert not is_rtl_text("12 · 3%")


def test_without_raqm_arabic_is_reshaped_and_put_in_visual_order(monkeypatch):
    basic = ImageFont.truetype(FONT, 20, layout_engine=ImageFont.Layout.BASIC)
    assert visual(LABEL, basic) == get_display(arabic_reshaper.reshape(LABEL))
    assert visual(LABEL, basic) != LABEL
    assert visual("Pizza 3", basic) == "Pizza 3"


@pytest.mark.parametrize("engine", ["default", "basic"])
def test_an_arabic_label_is_drawn_shaped_and_right_to_left(monkeypatch, engine):
    if engine == "basic":
        _basic_fonts(monkeypatch)
    label = "نعم"  # short: a compact row, the label beside its bar
    drawn = _label_ink(results_png("", [(label, 0)], 0))
    right = _reference(label, get_display(arabic_reshaper.reshape(label)))
    unshaped = _reference(label)  # letters apart, left to right: what a naive draw gives
    assert _iou(drawn, right) > 0.6
    assert _iou(drawn, unshaped) < 0.4


@pytest.mark.parametrize("engine", ["default", "basic"])
def test_a_long_arabic_label_wraps_above_its_bar_and_reads_right_to_left(monkeypatch, engine):
    if engine == "basic":
        _basic_fonts(monkeypatch)
    png = results_png("", [(LABEL * 1, 3), ("لا " * 30, 1)], 4)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    first_line = image.crop((0, charts.MARGIN - 6, charts.WIDTH, charts.MARGIN + 44))
    drawn = _ink(first_line)
    assert _iou(drawn, _reference(LABEL, get_display(arabic_reshaper.reshape(LABEL)))) > 0.6
    assert _iou(drawn, _reference(LABEL)) < 0.4


def test_a_right_to_left_chart_is_mirrored_labels_right_bars_growing_left():
    png = results_png("ما رأيك؟", [("نعم", 3), ("لا", 1)], 4, "4 أصوات")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    title = _ink(image.crop((0, 0, charts.WIDTH, charts.MARGIN + 50)))
    assert title.width < charts.WIDTH / 2
    title_box = image.crop((0, 0, charts.WIDTH, charts.MARGIN + 50)).convert("L")
    dark = title_box.point(lambda v: 255 if v < 110 else 0).getbbox()
    assert dark[2] >= charts.WIDTH - charts.MARGIN - 4  # ends at the right margin
    # the first bar is filled from its right end: blue at the right, track at the left
    rows = [y for y in range(image.height) if image.getpixel((charts.WIDTH // 2, y)) == charts.BAR]
    assert rows, "no filled bar crosses the middle"
    y = rows[0] + 5
    blues = [x for x in range(charts.WIDTH) if image.getpixel((x, y)) == charts.BAR]
    tracks = [x for x in range(charts.WIDTH) if image.getpixel((x, y)) == charts.TRACK]
    assert min(tracks) < min(blues) and max(blues) > max(tracks)


def test_a_left_to_right_chart_is_not_mirrored():
    png = results_png("Lunch?", [("Pizza", 3), ("Salad", 1)], 4)
    image = Image.open(io.BytesIO(png)).convert("L")
    dark = image.crop((0, 0, charts.WIDTH, charts.MARGIN + 50)).point(
        lambda v: 255 if v < 110 else 0
    )
    assert dark.getbbox()[0] <= charts.MARGIN + 4


@pytest.mark.parametrize("engine", ["default", "basic"])
def test_direction_isolates_from_the_catalog_are_not_drawn(monkeypatch, engine):
    if engine == "basic":
        _basic_fonts(monkeypatch)
    isolated = "صوّت \u20685\u2069 · انضم \u20689\u2069"  # as the Arabic catalog gives it
    plain = "صوّت 5 · انضم 9"
    rows = [("نعم", 5)]
    assert results_png("ما رأيك؟", rows, 5, isolated) == results_png("ما رأيك؟", rows, 5, plain)
    assert results_png("\u2068Lunch\u2069?", rows, 5) == results_png("Lunch?", rows, 5)
