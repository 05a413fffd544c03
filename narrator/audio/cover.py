"""Cover art for an episode: a generated typographic square, or the user's image made fit.

Podcast apps want a square JPEG or PNG of 1400 to 3000 px. Both functions return the
encoded bytes and write no file; the only I/O is reading the user's image, and the cache
(when one is given) that keeps generated covers.

Output is deterministic: the same inputs give the same bytes on the same Pillow build
(fixed encoder settings, no metadata). Another Pillow, FreeType, zlib or libjpeg may
rasterise or compress differently.

Pillow and the font are imported by the functions that draw (about 0.1 s), so a build
whose cover comes from the cache never loads them.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import itertools
import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.cache import AudioCache, content_key
from narrator.errors import InputError

if TYPE_CHECKING:
    from PIL import Image, ImageFont

COVER_PX = 1400  # the smallest cover podcast apps accept, and the generated cover's size
MAX_COVER_PX = 3000  # the largest they accept; bigger user images are scaled down
COVERS = "covers"  # cache kind: generated covers, as PNG
_DRAWING = 1  # bump when a change here changes the generated cover's bytes

_JPEG_QUALITY = 90
_PNG_COMPRESSION = 9

# The generated cover's geometry, as fractions of its side.
_MARGIN = 0.1
_BAND = 0.15  # the darker strip at the bottom that carries the wordmark
_TITLE_LARGEST = 0.11
_TITLE_SMALLEST = 0.03  # a title too long even at this size is cut short with an ellipsis
_AUTHOR = 0.045
_AUTHOR_LINES = 2
_WORDMARK = 0.028
_GAP = 0.04  # between the title and the author

_PAPER = (246, 243, 236)  # the title's colour; the author and wordmark blend it into the ground
_FONT = "Noto Sans"  # Latin, Greek and Cyrillic (the fontpkg-noto-sans package)
# Characters a font may lack, spelled with ones it has (accents go via NFKD).
_SUBSTITUTES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'} | dict.fromkeys(
    "\u2010\u2011\u2012\u2013\u2014\u2212", "-"
)

_RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Cover:
    data: bytes  # the encoded image
    mime: str  # "image/jpeg" or "image/png"
    size: int  # width == height, in pixels


def generated_cover(
    title: str, author: str | None, size: int = COVER_PX, cache: AudioCache | None = None
) -> Cover:
    """A square PNG: the title large on a ground coloured by its hash, the author below.

    Drawing and compressing it takes about a quarter of a second, so with a `cache` the
    PNG is kept under `cover_key` and a rebuild reads it back."""
    if cache is None:
        return Cover(_draw(*_collapsed(title, author), size), "image/png", size)
    key = cover_key(title, author, size)
    data = cache.get(COVERS, key)
    if data is None:
        data = _draw(*_collapsed(title, author), size)
        cache.put(COVERS, key, data)
    return Cover(data, "image/png", size)


def cover_key(title: str, author: str | None, size: int = COVER_PX) -> str:
    """The cache key of a generated cover: everything that shapes its bytes."""
    return content_key("cover", _DRAWING, *_drawn_with(), *_collapsed(title, author), size)


def _collapsed(title: str, author: str | None) -> tuple[str, str]:
    """The title and author as the cover draws them: runs of whitespace made one space."""
    return " ".join(title.split()), " ".join((author or "").split())


@functools.cache
def _drawn_with() -> tuple[str, str]:
    """What else shapes a generated cover's bytes: the Pillow release (its wheel brings
    FreeType and zlib) and the font's, read without loading either."""
    import fontpkg_noto_sans  # type: ignore[import-untyped]
    import PIL

    metadata = json.loads((fontpkg_noto_sans.ROOT / "metadata.json").read_text(encoding="utf-8"))
    return PIL.__version__, metadata["version"]


def _draw(title: str, author: str, size: int) -> bytes:
    """The generated cover's PNG."""
    from PIL import Image, ImageDraw

    ground, band = _palette(title)
    canvas = Image.new("RGB", (size, size), ground)
    band_top = size - round(size * _BAND)
    ImageDraw.Draw(canvas).rectangle((0, band_top, size, size), fill=band)

    margin = round(size * _MARGIN)
    width = size - 2 * margin
    wordmark = _face(round(size * _WORDMARK))
    wordmark.draw(
        canvas,
        (margin, band_top + (size - band_top - wordmark.line_height) // 2),
        wordmark.spell("narrator"),
        _blend(_PAPER, band, 0.55),
    )

    byline = _face(round(size * _AUTHOR))
    author_lines, _ = _set(byline.spell(author), byline, width, _AUTHOR_LINES)
    author_height = len(author_lines) * byline.line_height
    gap = round(size * _GAP) if author_lines else 0
    space = band_top - 2 * margin  # the text block is centred in it
    face, title_lines = _fit_title(title, width, space - gap - author_height, size)

    y = margin + (space - len(title_lines) * face.line_height - gap - author_height) // 2
    for line in title_lines:
        face.draw(canvas, (margin, y), line, _PAPER)
        y += face.line_height
    y += gap
    for line in author_lines:
        byline.draw(canvas, (margin, y), line, _blend(_PAPER, ground, 0.75))
        y += byline.line_height

    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", compress_level=_PNG_COMPRESSION)
    return buffer.getvalue()


def cover_text(text: str) -> str:
    """`text` as the generated cover draws it: in characters its font has, what it lacks
    spelled plainer or left out."""
    face = _face(round(COVER_PX * _TITLE_LARGEST))
    return " ".join(face.spell(" ".join(text.split())).split())


def user_cover(path: Path) -> Cover:
    """The user's image, upright, centre-cropped to a square of 1400 to 3000 px.

    PNG stays PNG (it is usually artwork that JPEG would smear); anything else becomes a
    JPEG. Transparency is flattened on white, and no metadata of the source is kept.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        if not path.exists():
            what = "does not exist"
        elif path.is_dir():
            what = "is a directory"
        else:  # /dev/zero, a FIFO, a socket: reading it could block or never end
            what = "is not a regular file (a device, pipe or socket)"
        raise InputError(f"Cover image {path} {what}", "check the path to the cover image")
    try:
        with Image.open(path) as source:
            source.load()
            was_png = source.format == "PNG"
            # turn phone photos upright: the orientation lives in EXIF, which is not kept
            image = ImageOps.exif_transpose(source)
    except Image.DecompressionBombError as exc:
        raise InputError(
            f"Cover image {path} is too large to open safely",
            f"use an image of at most {MAX_COVER_PX}x{MAX_COVER_PX} px",
        ) from exc
    except OSError as exc:  # not an image (UnidentifiedImageError), truncated, unreadable
        what = "is not an image" if isinstance(exc, UnidentifiedImageError) else "cannot be read"
        raise InputError(
            f"Cover image {path} {what}", "use a JPEG or PNG file of at least 1400x1400 px"
        ) from exc

    width, height = image.size
    side = min(width, height)
    if side < COVER_PX:
        raise InputError(
            f"Cover image {path} is {width}x{height} px, but a cover must be at least "
            f"{COVER_PX}x{COVER_PX} px",
            "use a larger image, or drop the cover setting to get a generated one",
        )
    left, top = (width - side) // 2, (height - side) // 2
    square = _flatten(image).crop((left, top, left + side, top + side))
    if side > MAX_COVER_PX:
        square = square.resize((MAX_COVER_PX, MAX_COVER_PX), Image.Resampling.LANCZOS)
    square.info = {}  # no EXIF, ICC profile or comment of the source rides along

    buffer = io.BytesIO()
    if was_png:
        square.save(buffer, format="PNG", compress_level=_PNG_COMPRESSION)
    else:
        square.save(buffer, format="JPEG", quality=_JPEG_QUALITY, optimize=False, progressive=False)
    return Cover(buffer.getvalue(), "image/png" if was_png else "image/jpeg", square.width)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white (dropping alpha would show black)."""
    from PIL import Image

    if not image.has_transparency_data:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")


def _palette(title: str) -> tuple[_RGB, _RGB]:
    """A calm, dark ground and a darker band, their hue and tone picked by the title's hash."""
    digest = hashlib.sha256(title.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    saturation = 0.3 + 0.25 * digest[2] / 255
    value = 0.3 + 0.1 * digest[3] / 255
    return _hsv(hue, saturation, value), _hsv(hue, saturation, value * 0.72)


def _hsv(hue: float, saturation: float, value: float) -> _RGB:
    red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _blend(ink: _RGB, ground: _RGB, share: float) -> _RGB:
    """`share` of `ink` over `ground`: a quieter colour that still reads on that ground."""
    red, green, blue = (
        round(i * share + g * (1 - share)) for i, g in zip(ink, ground, strict=True)
    )
    return red, green, blue


@dataclass(frozen=True)
class _Face:
    """A font at one pixel size.

    Noto Sans scales to any size through FreeType. A Pillow built without FreeType has
    only a small Latin-1 bitmap font: it is drawn at its own size and enlarged by a whole
    factor, blocky but legible.
    """

    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    scale: int
    has: Callable[[str], bool]  # whether the font has a glyph for a character
    missing: str  # what stands in for a character it cannot spell at all ("": nothing)

    @property
    def line_height(self) -> int:
        return round(self.font.getbbox("Hg")[3]) * self.scale

    def width(self, text: str) -> float:
        return self.font.getlength(text) * self.scale

    def spell(self, text: str) -> str:
        """`text` in characters the font has; what it lacks is spelled plainer (dashes,
        quotes, accents) or left out, never drawn as a box."""
        spelled = []
        for char in text:
            if not char.isprintable():  # soft hyphens, zero-width spaces, controls
                continue
            if not self.has(char):
                plain = _SUBSTITUTES.get(char) or "".join(
                    part
                    for part in unicodedata.normalize("NFKD", char)
                    if not unicodedata.combining(part)
                )
                char = plain if plain and all(map(self.has, plain)) else self.missing
            spelled.append(char)
        return "".join(spelled)

    def draw(self, canvas: Image.Image, xy: tuple[int, int], text: str, fill: _RGB) -> None:
        from PIL import Image, ImageDraw

        if self.scale == 1:
            ImageDraw.Draw(canvas).text(xy, text, font=self.font, fill=fill)
            return
        native = (max(1, round(self.font.getlength(text))), round(self.font.getbbox("Hg")[3]))
        mask = Image.new("L", native)
        ImageDraw.Draw(mask).text((0, 0), text, font=self.font, fill=255)
        mask = mask.resize(
            (mask.width * self.scale, mask.height * self.scale), Image.Resampling.NEAREST
        )
        x, y = xy
        canvas.paste(fill, (x, y, x + mask.width, y + mask.height), mask)


def _face(px: int) -> _Face:
    try:
        return _Face(_font(px), 1, _font_has, "")
    except ImportError:  # Pillow without FreeType: only the bitmap font is there
        from PIL import ImageFont

        bitmap = ImageFont.load_default()
        native = round(bitmap.getbbox("Hg")[3])
        return _Face(bitmap, max(1, round(px / native)), _latin1_has, "?")


@functools.cache
def _font(px: int) -> ImageFont.FreeTypeFont:
    import fontpkg.pil

    return fontpkg.pil.truetype(_FONT, px)


@functools.cache
def _font_has(char: str) -> bool:
    """Whether the font draws `char` as itself: a character it lacks draws as its
    .notdef box, the same as a private-use character no font has."""
    return _glyph(char) != _glyph("\U0010fffd")


@functools.cache
def _glyph(char: str) -> tuple[tuple[int, int], bytes]:
    mask = _font(32).getmask(char)
    return mask.size, bytes(mask)


def _latin1_has(char: str) -> bool:
    return ord(char) < 256


def _fit_title(title: str, width: int, height: int, size: int) -> tuple[_Face, list[str]]:
    """The largest size at which the whole title fits the box, else the smallest, cut short."""
    step = max(1, size // 350)
    largest, smallest = round(size * _TITLE_LARGEST), round(size * _TITLE_SMALLEST)
    for px in range(largest, smallest - 1, -step):
        face = _face(px)
        lines, whole = _set(face.spell(title), face, width, max(1, height // face.line_height))
        if whole:
            break
    return face, lines  # when nothing fitted whole: the smallest size, cut short


def _set(text: str, face: _Face, width: int, max_lines: int) -> tuple[list[str], bool]:
    """`text` in at most `max_lines` lines, and whether it all fitted (else it ends in …)."""
    lines = list(itertools.islice(_break(text, face, width), max_lines + 1))
    if len(lines) <= max_lines:
        return lines, True
    ellipsis = face.spell("\u2026")
    last = lines[max_lines - 1]
    while last and face.width(last + ellipsis) > width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + ellipsis], False


def _break(text: str, face: _Face, width: int) -> Iterator[str]:
    """Lines no wider than `width`, broken at spaces; a word wider than a line anywhere."""
    line = ""
    for word in text.split():
        joined = f"{line} {word}" if line else word
        if face.width(joined) <= width:
            line = joined
            continue
        if line:
            yield line
        line = word
        while face.width(line) > width:
            cut = 1
            while face.width(line[: cut + 1]) <= width:
                cut += 1
            yield line[:cut]
            line = line[cut:]
    if line:
        yield line
