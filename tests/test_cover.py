"""Cover art: the generated typographic cover and the checks and fitting of a user's image."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from narrator.audio.cover import (
    COVER_PX,
    COVERS,
    Cover,
    _face,
    _set,
    cover_key,
    generated_cover,
    user_cover,
)
from narrator.cache import AudioCache
from narrator.errors import InputError

MARGIN = COVER_PX // 10  # the generated cover keeps its text this far from the edges
BAND_TOP = COVER_PX - round(COVER_PX * 0.15)  # where the wordmark's darker band starts
LONG_TITLE = " ".join(["Considerations"] * 14)[:200]


def opened(cover: Cover) -> Image.Image:
    image = Image.open(io.BytesIO(cover.data))
    image.load()
    return image


def inked(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels in `box` differ from the ground (the top-left corner's colour)."""
    ground = image.getpixel((0, 0))
    region = image.crop(box).convert("RGB")
    return sum(
        count
        for count, colour in region.getcolors(region.width * region.height) or []
        if colour != ground
    )


def test_generated_cover_is_a_1400_px_square_png() -> None:
    cover = generated_cover("Walking", "Henry David Thoreau")
    image = opened(cover)
    assert cover.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert (cover.mime, cover.size) == ("image/png", COVER_PX)
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (COVER_PX, COVER_PX))
    assert not {"exif", "icc_profile", "dpi"} & image.info.keys()


def test_generated_cover_is_byte_identical_for_the_same_inputs() -> None:
    first = generated_cover("Nature", "Ralph Waldo Emerson")
    generated_cover("Something else entirely", None)  # no state carries between calls
    assert generated_cover("Nature", "Ralph Waldo Emerson").data == first.data


def test_generated_cover_is_drawn_once_then_read_from_the_cache(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path / "cache")
    drawn = generated_cover("Nature", " Ralph  Waldo Emerson", cache=cache)
    assert drawn == generated_cover("Nature", "Ralph Waldo Emerson")  # as without a cache
    key = cover_key("Nature", "Ralph Waldo Emerson")
    assert cache.get(COVERS, key) == drawn.data
    # a rebuild takes what the cache holds and draws nothing
    cache.put(COVERS, key, b"kept")
    assert generated_cover("Nature", "Ralph Waldo Emerson", cache=cache).data == b"kept"
    assert generated_cover("Nature", None, cache=cache) == generated_cover("Nature", None)
    assert cover_key("Nature", "Ralph Waldo Emerson", COVER_PX + 1) != key


def test_different_titles_give_different_colours_and_bytes() -> None:
    walking, nature = generated_cover("Walking", None), generated_cover("Nature", None)
    assert walking.data != nature.data
    assert opened(walking).getpixel((0, 0)) != opened(nature).getpixel((0, 0))
    # the author changes the picture but not the colours, which follow the title alone
    signed = generated_cover("Walking", "Henry David Thoreau")
    assert signed.data != walking.data
    assert opened(signed).getpixel((0, 0)) == opened(walking).getpixel((0, 0))


def test_title_author_and_wordmark_are_drawn() -> None:
    image = opened(generated_cover("Civil Disobedience", "Henry David Thoreau"))
    assert len(image.getcolors(COVER_PX * COVER_PX) or []) > 20  # anti-aliased text
    assert inked(image, (MARGIN, MARGIN, COVER_PX - MARGIN, BAND_TOP)) > 5000
    band = image.crop((0, BAND_TOP, COVER_PX, COVER_PX))
    assert len(band.getcolors(band.width * band.height) or []) > 2  # the wordmark


@pytest.mark.parametrize(
    "title", [LONG_TITLE, "x" * 200, "Walking " * 400], ids=["words", "one-word", "3200-chars"]
)
def test_long_titles_stay_inside_the_margins(title: str) -> None:
    image = opened(generated_cover(title, "An Author With A Rather Long Name Indeed"))
    assert image.size == (COVER_PX, COVER_PX)
    assert inked(image, (MARGIN, MARGIN, COVER_PX - MARGIN, BAND_TOP)) > 20000
    margins = [
        (0, 0, COVER_PX, MARGIN),  # top
        (0, 0, MARGIN - 2, BAND_TOP),  # left (a glyph may lean a pixel past its origin)
        (COVER_PX - MARGIN + 2, 0, COVER_PX, BAND_TOP),  # right
    ]
    assert [inked(image, box) for box in margins] == [0, 0, 0]


@pytest.mark.parametrize(
    "title",
    ["Περὶ φύσεως", "Война и мир", "\u201cQuoted\u201d \u2014 it\u2019s caf\u00e9\u2026", "\u200b"],
)
def test_non_latin_and_typographic_titles_render(title: str) -> None:
    cover = generated_cover(
        title, "\u0391\u03c1\u03b9\u03c3\u03c4\u03bf\u03c4\u03ad\u03bb\u03b7\u03c2"
    )
    image = opened(cover)
    assert image.size == (COVER_PX, COVER_PX)
    assert inked(image, (MARGIN, MARGIN, COVER_PX - MARGIN, BAND_TOP)) > 1000
    assert (
        generated_cover(
            title, "\u0391\u03c1\u03b9\u03c3\u03c4\u03bf\u03c4\u03ad\u03bb\u03b7\u03c2"
        ).data
        == cover.data
    )


def test_without_freetype_the_bitmap_font_still_makes_a_cover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Pillow built without FreeType has only the bitmap font and no scalable one."""
    if not hasattr(ImageFont, "load_default_imagefont"):
        pytest.skip("this Pillow cannot hand out its bitmap font directly")
    bitmap = ImageFont.load_default_imagefont()

    def load_default(size: float | None = None) -> ImageFont.ImageFont:
        if size is not None:
            raise ImportError("The _imagingft C module is not installed")
        return bitmap

    monkeypatch.setattr(ImageFont, "load_default", load_default)
    title = "\u201cWalking\u201d \u2014 \u0395\u03bb\u03bb\u03ac\u03b4\u03b1 " + "x" * 150
    cover = generated_cover(title, "Thoreau")
    image = opened(cover)
    assert image.size == (COVER_PX, COVER_PX)
    assert inked(image, (MARGIN, MARGIN, COVER_PX - MARGIN, BAND_TOP)) > 5000
    assert inked(image, (COVER_PX - MARGIN + 1, 0, COVER_PX, BAND_TOP)) == 0
    assert generated_cover(title, "Thoreau").data == cover.data


def test_text_that_cannot_fit_is_cut_short_with_an_ellipsis() -> None:
    face = _face(60)
    lines, whole = _set("Walking " * 100, face, 600, 3)
    assert not whole
    assert len(lines) == 3
    assert lines[-1].endswith("\u2026")
    assert all(face.width(line) <= 600 for line in lines)
    assert _set("Walking far", face, 600, 3) == (["Walking far"], True)


def save(tmp_path: Path, name: str, image: Image.Image, **params: object) -> Path:
    path = tmp_path / name
    image.save(path, **params)
    return path


def test_landscape_jpeg_is_centre_cropped_to_a_square_jpeg(tmp_path: Path) -> None:
    photo = Image.new("RGB", (2000, 1500), "green")
    photo.paste("red", (0, 0, 250, 1500))  # the strips the crop must cut away
    photo.paste("blue", (1750, 0, 2000, 1500))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    cover = user_cover(save(tmp_path, "photo.jpg", photo, quality=95, exif=exif))
    image = opened(cover)
    assert (cover.mime, cover.size) == ("image/jpeg", 1500)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1500, 1500))
    assert COVER_PX <= cover.size <= 3000
    assert "exif" not in image.info
    assert not image.info.get("progressive")
    for x in (2, 1497):  # both edges are the green middle, neither strip
        red, green, blue = image.getpixel((x, 750))
        assert green > 100 and red < 60 and blue < 60


def test_large_png_is_scaled_down_to_3000_and_stays_png(tmp_path: Path) -> None:
    art = Image.linear_gradient("L").resize((4000, 4000)).convert("RGB")
    cover = user_cover(save(tmp_path, "art.png", art))
    image = opened(cover)
    assert (cover.mime, cover.size) == ("image/png", 3000)
    assert (image.format, image.size) == ("PNG", (3000, 3000))


def test_png_transparency_is_flattened_on_white(tmp_path: Path) -> None:
    logo = Image.new("RGBA", (1600, 1600), (0, 0, 0, 0))
    logo.paste((200, 0, 0, 255), (600, 600, 1000, 1000))
    image = opened(user_cover(save(tmp_path, "logo.png", logo)))
    assert image.mode == "RGB"
    assert image.getpixel((10, 10)) == (255, 255, 255)
    assert image.getpixel((800, 800)) == (200, 0, 0)


def test_exif_orientation_is_applied_before_cropping(tmp_path: Path) -> None:
    stored = Image.new("RGB", (1400, 1400), "blue")
    stored.paste("red", (0, 0, 1400, 700))  # red on top as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": the top becomes the right
    image = opened(user_cover(save(tmp_path, "phone.jpg", stored, quality=95, exif=exif)))
    left, right = image.getpixel((300, 700)), image.getpixel((1100, 700))
    assert left[2] > 200 and left[0] < 60
    assert right[0] > 200 and right[2] < 60


@pytest.mark.parametrize("name", ["photo.jpg", "art.png"])
def test_no_metadata_of_the_source_is_kept(tmp_path: Path, name: str) -> None:
    profile = b"an ICC profile, stored as given" * 8  # no reader checks it
    source = Image.new("RGB", (1500, 1500), "green")
    params = {"icc_profile": profile, "dpi": (300, 300)}
    if name.endswith(".jpg"):
        params["comment"] = b"taken on holiday"
    image = opened(user_cover(save(tmp_path, name, source, **params)))
    assert not {"icc_profile", "comment", "exif", "dpi"} & image.info.keys()


def test_user_cover_is_deterministic(tmp_path: Path) -> None:
    path = save(tmp_path, "photo.jpg", Image.linear_gradient("L").resize((1800, 1600)))
    assert user_cover(path).data == user_cover(path).data


def test_small_image_is_refused_naming_the_minimum(tmp_path: Path) -> None:
    path = save(tmp_path, "small.jpg", Image.new("RGB", (800, 800), "white"))
    with pytest.raises(InputError) as caught:
        user_cover(path)
    assert "1400x1400" in caught.value.message
    assert "800x800" in caught.value.message
    assert caught.value.hint


def test_image_too_small_on_its_shorter_side_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path, "banner.png", Image.new("RGB", (4000, 1399), "white"))
    with pytest.raises(InputError, match="1400"):
        user_cover(path)


def test_text_file_named_jpg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cover.jpg"
    path.write_text("not an image at all\n", encoding="utf-8")
    with pytest.raises(InputError, match="is not an image") as caught:
        user_cover(path)
    assert caught.value.hint


def test_truncated_image_is_refused(tmp_path: Path) -> None:
    whole = save(tmp_path, "whole.png", Image.linear_gradient("L").resize((1500, 1500)))
    path = tmp_path / "cut.png"
    path.write_bytes(whole.read_bytes()[:5000])
    with pytest.raises(InputError, match="cannot be read"):
        user_cover(path)


def test_missing_path_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as caught:
        user_cover(tmp_path / "nowhere.jpg")
    assert caught.value.hint
    with pytest.raises(InputError, match="is a directory"):
        user_cover(tmp_path)
