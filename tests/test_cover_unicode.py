"""The generated cover's font: accents, dashes, Greek and Cyrillic drawn as written, and
what the font cannot draw (an emoji) left out rather than drawn as a box."""

from __future__ import annotations

import io

import fontpkg
import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from narrator.audio.cover import COVER_PX, cover_text, generated_cover


@pytest.fixture(scope="module")
def cmap() -> dict[int, str]:
    """The character map of the font the cover is set in, read with fontTools."""
    with TTFont(fontpkg.path("Noto Sans")) as font:
        return dict(font.getBestCmap())


@pytest.mark.parametrize(
    "title",
    [
        "Émigrés and Cafés — a Note",
        "Ἡ Ὀδύσσεια: ἀρχὴ καὶ τέλος",  # polytonic Greek
        "Война и мир — Ёлка",
        "Łódź, Ærø, Þórsmörk, ﬁne “quotes”",
    ],
)
def test_every_character_is_drawn_from_the_font(title: str, cmap: dict[int, str]) -> None:
    assert cover_text(title) == title  # nothing spelled plainer, nothing left out
    assert all(ord(char) in cmap for char in title if not char.isspace())
    image = Image.open(io.BytesIO(generated_cover(title, "Ада Авторова").data))
    assert image.size == (COVER_PX, COVER_PX)


def test_what_the_font_lacks_is_left_out_not_boxed(cmap: dict[int, str]) -> None:
    title = "Tea 🍵 time ☕ at ﷽ noon"
    drawn = cover_text(title)
    assert drawn == "Tea time at noon"
    assert all(ord(char) in cmap for char in drawn if not char.isspace())
    assert "\ufffd" not in drawn  # the replacement character would draw as a box too
    generated_cover(title, None)  # and it renders
