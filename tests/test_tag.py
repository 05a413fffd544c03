"""Tags as independent readers see them: ID3v2.3 text frames, one ordered table of contents,
chapters that tile the file (mutagen and ffmpeg read back a real build)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from helpers import EXAMPLE, SEED_HEADINGS, build, chapters_of, decode, ffmetadata
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp3 import MP3


def test_seed_has_id3v23_with_one_ordered_toc_of_eight_chapters(seed_mp3: Path) -> None:
    tags = ID3(seed_mp3)
    assert tags.version[:2] == (2, 3)
    (toc,) = tags.getall("CTOC")
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED == 3
    titles = [title for title, _, _ in chapters_of(seed_mp3)]
    assert len(titles) == 8
    assert titles[1:] == SEED_HEADINGS  # exact text, curly apostrophe kept
    assert str(tags["TCON"]) == "Podcast"
    assert tags.getall("TXXX:generator")[0].text[0].startswith("narrator ")
    assert len(tags.getall("TXXX:source_sha256")[0].text[0]) == 64


def test_seed_chapters_tile_the_file_in_time_order(seed_mp3: Path) -> None:
    chapters = chapters_of(seed_mp3)
    duration_ms = round(MP3(seed_mp3).info.length * 1000)
    assert chapters[0][1] == 0
    for (_, _, end), (_, start, _) in itertools.pairwise(chapters):
        assert end == start
    assert chapters[-1][2] == duration_ms
    assert [s for _, s, _ in chapters] == sorted(s for _, s, _ in chapters)
    assert str(ID3(seed_mp3)["TLEN"]) == str(duration_ms)


def test_ffmpeg_decodes_cleanly_and_lists_the_same_chapters(seed_mp3: Path) -> None:
    pcm = decode(seed_mp3)
    assert len(pcm) > 0
    meta = ffmetadata(seed_mp3)
    sections = [
        dict(re.findall(r"^(\w+)=(.*)$", part, flags=re.M)) for part in meta.split("[CHAPTER]")[1:]
    ]
    titles = [section["title"] for section in sections]
    starts = [int(section["START"]) for section in sections]
    assert [t for t, _, _ in chapters_of(seed_mp3)] == titles
    # ffmpeg shifts chapter times by the encoder delay it skips (1105 samples, 25 ms)
    ours = [s for _, s, _ in chapters_of(seed_mp3)]
    assert all(abs(a - b) <= 30 for a, b in zip(starts, ours, strict=True))


def test_seed_format_is_cbr_64k_mono_44k_with_info_header(seed_mp3: Path) -> None:
    info = MP3(seed_mp3).info
    assert (info.sample_rate, info.channels, info.bitrate) == (44100, 1, 64000)
    assert info.sketchy is False  # an Info/Xing header was found


def test_markdown_example_with_front_matter_tags(tmp_path: Path) -> None:
    out = tmp_path / "walking.mp3"
    build(out, EXAMPLE)
    tags = ID3(out)
    assert str(tags["TIT2"]) == "On Walking Slowly"
    assert str(tags["TPE1"]) == "The narrator project"
    assert str(tags["TDRC"]) == "2026"  # mutagen reads v2.3 TYER back as TDRC
    assert "TYER" in ID3(out, translate=False)  # a real v2.3 year frame
    titles = [t for t, _, _ in chapters_of(out)]
    assert titles == ["On Walking Slowly", "The First Mile", "What the Path Teaches", "Coming Home"]


def test_flags_override_title_and_author(tmp_path: Path) -> None:
    out = tmp_path / "flags.mp3"
    build(out, EXAMPLE, "--title", "Another Title", "--author", "Someone", "--rate", "200")
    tags = ID3(out)
    assert (str(tags["TIT2"]), str(tags["TPE1"])) == ("Another Title", "Someone")
    assert chapters_of(out)[0][0] == "Another Title"
