"""Poll result charts and join-link QR codes: valid PNGs, sane layout, scannable codes."""

import io

import pytest
import segno
from PIL import Image, ImageDraw

from bot.services import charts
from bot.services.charts import results_png
from bot.services.qrcodes import qr_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINK = "https://t.me/backbone_bot?start=poll_3f9a2c71"


def _open(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image


def _render(font, text: str) -> bytes:
    image = Image.new("L", (80, 80), 0)
    ImageDraw.Draw(image).text((10, 10), text, font=font, fill=255)
    return image.tobytes()


def test_a_chart_is_a_png_pillow_can_open_1200_wide():
    png = results_png("Lunch?", [("Pizza", 3), ("Salad", 1)], 4, "4 votes · 5 joined")
    image = _open(png)
    assert image.size[0] == 1200
    assert 200 < image.size[1] < 1200
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (255, 255, 255)


def test_the_same_input_gives_the_same_bytes():
    args = ("Wohin?", [("Straße", 2), ("Çarşı", 5), ("Площадь", 1)], 8, "8 votes")
    assert results_png(*args) == results_png(*args)


def test_nobody_voted_is_no_division_by_zero():
    _open(results_png("Yes or no?", [("Yes", 0), ("No", 0)], 0))
    _open(results_png("Inconsistent counts", [("Yes", 3)], 0, "3 votes · 0 joined"))
    _open(results_png("", [], 0))


def test_twelve_options_with_long_labels():
    label = "Ein sehr langes Label mit Umlauten äöü und ß, das umbrechen muss, " * 3
    rows = [(label[: 60 + i * 4] + str(i), 12 - i) for i in range(12)]
    twelve = _open(results_png("Q " * 80, rows, 30, "78 votes · 30 joined"))
    three = _open(results_png("Q " * 80, rows[:3], 30, "78 votes · 30 joined"))
    assert twelve.size[0] == three.size[0] == 1200
    assert twelve.size[1] > three.size[1]
    assert twelve.size[1] < 2400


def test_twenty_words_ranked():
    rows = [(f"Wort{i}", 20 - i) for i in range(20)]
    image = _open(results_png("Ein Wort für unser Bündnis", rows, 25, "210 words · 25 voters"))
    assert image.size[1] < 2000


def test_a_word_without_spaces_and_odd_counts_do_not_break_it():
    rows = [("x" * 300, 5), ("", 1), ("   ", -3), ("  many   spaces  ", 2)]
    _open(results_png("y" * 300, rows, 5, "z" * 300))


def test_percentages_round_half_up_and_zero_without_voters():
    assert charts._percent(1, 3) == 33
    assert charts._percent(2, 3) == 67
    assert charts._percent(1, 8) == 13
    assert charts._percent(7, 7) == 100
    assert charts._percent(5, 0) == 0


def test_wrapping_fits_the_width_and_ellipsizes_what_is_left():
    font = charts._font(charts.TEXT_SIZE)
    lines = charts._wrap("word " * 200, font, 500, 2)
    assert len(lines) == 2
    assert all(font.getlength(line) <= 500 for line in lines)
    assert lines[-1].endswith(charts.ELLIPSIS)
    assert charts._wrap("short", font, 500, 2) == ["short"]
    assert all(font.getlength(line) <= 300 for line in charts._wrap("a" * 500, font, 300, 3))


def test_umlauts_turkish_cyrillic_and_arabic_are_glyphs_not_boxes():
    font = charts._font(charts.TEXT_SIZE)
    if "DejaVu" not in font.getname()[0]:
        pytest.skip("DejaVu Sans is not installed here (Debian: fonts-dejavu-core)")
    missing = _render(font, chr(0x10FFFD))
    for char in "äöüßğışİЖжعب":
        assert _render(font, char) != missing, char


def test_without_any_system_font_it_falls_back_and_still_draws(monkeypatch):
    monkeypatch.setattr(charts, "_REGULAR", ("no-such-font.ttf",))
    monkeypatch.setattr(charts, "_BOLD", ("no-such-font.ttf",))
    _open(results_png("Straße?", [("Ja", 1), ("Nein", 2)], 3, "3 votes"))


def test_a_qr_code_is_a_regular_qr_png_whose_modules_match_the_link():
    png = qr_png(LINK)
    image = _open(png).convert("L")
    code = segno.make_qr(LINK, error="m")
    assert not code.is_micro
    assert code.error in ("M", "Q", "H")
    size = len(code.matrix) + 2 * 2
    assert image.size == (size * 10, size * 10)
    sampled = [
        [image.getpixel((x * 10 + 5, y * 10 + 5)) < 128 for x in range(size)] for y in range(size)
    ]
    expected = [[False] * size] * 2
    expected += [[False, False, *map(bool, row), False, False] for row in code.matrix]
    expected += [[False] * size] * 2
    assert sampled == expected


def test_a_short_link_still_gets_a_regular_qr_code_and_scale_is_honoured():
    image = _open(qr_png("https://t.me/x", scale=4))
    assert image.size == ((21 + 4) * 4, (21 + 4) * 4)


def test_a_qr_code_decodes_back_to_the_link():
    zxingcpp = pytest.importorskip("zxingcpp")
    results = zxingcpp.read_barcodes(_open(qr_png(LINK)))
    assert [r.text for r in results] == [LINK]


def test_an_empty_link_is_refused():
    with pytest.raises(ValueError):
        qr_png("")
