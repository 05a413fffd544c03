"""End to end through the real `narrator` command: espeak-ng, ffmpeg, mutagen, read back
by independent readers (mutagen and ffmpeg)."""

from __future__ import annotations

import array
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLE, SEED, SEED_HEADINGS, decode, ffmetadata
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp3 import MP3


def build(out: Path, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", "build", *map(str, args), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=out.parent,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def seed_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seed") / "seed.mp3"
    build(out, SEED)
    return out


def chapters_of(path: Path) -> list[tuple[str, int, int]]:
    tags = ID3(path)
    chaps = {f.element_id: f for f in tags.getall("CHAP")}
    toc = tags.getall("CTOC")[0]
    return [
        (chaps[i].sub_frames["TIT2"].text[0], chaps[i].start_time, chaps[i].end_time)
        for i in toc.child_element_ids
    ]


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


def test_every_later_chapter_starts_inside_the_silence_before_its_heading(
    seed_mp3: Path,
) -> None:
    rate = 22050
    samples = array.array("h", decode(seed_mp3, rate))
    for title, start, _ in chapters_of(seed_mp3)[1:]:
        at = start * rate // 1000
        window = samples[at - rate // 10 : at + rate // 10]  # 100 ms either side
        assert max(abs(s) for s in window) < 300, title


def test_seed_pace_is_a_natural_reading_speed(seed_mp3: Path) -> None:
    words = len(SEED.read_text(encoding="utf-8").split())
    minutes = MP3(seed_mp3).info.length / 60
    assert 130 <= words / minutes <= 170


def test_same_essay_twice_gives_byte_identical_files(seed_mp3: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.mp3"
    # no cache, and a different worker count: still not one byte different
    build(again, SEED, "--jobs", "1", "--no-cache")
    assert again.read_bytes() == seed_mp3.read_bytes()


def test_markdown_example_with_front_matter_tags(tmp_path: Path) -> None:
    out = tmp_path / "walking.mp3"
    build(out, EXAMPLE)
    tags = ID3(out)
    assert str(tags["TIT2"]) == "On Walking Slowly"
    assert str(tags["TPE1"]) == "The narrator project"
    # mutagen reads v2.3's TYER (year) and TDAT (day and month) back as TDRC
    assert str(tags["TDRC"]) == "2026-11-25"
    raw = ID3(out, translate=False)
    assert str(raw["TYER"]) == "2026" and str(raw["TDAT"]) == "2511"  # real v2.3 frames
    titles = [t for t, _, _ in chapters_of(out)]
    assert titles == ["On Walking Slowly", "The First Mile", "What the Path Teaches", "Coming Home"]


def test_flags_override_title_and_author(tmp_path: Path) -> None:
    out = tmp_path / "flags.mp3"
    build(out, EXAMPLE, "--title", "Another Title", "--author", "Someone", "--rate", "200")
    tags = ID3(out)
    assert (str(tags["TIT2"]), str(tags["TPE1"])) == ("Another Title", "Someone")
    assert chapters_of(out)[0][0] == "Another Title"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(" ".join(["word,"] * 6000) + " end.", id="6000-word-sentence"),
        pytest.param("x" * 20000 + ".", id="20000-char-word"),
        pytest.param(
            "Emoji 😀🎧 and scripts: Καλημέρα κόσμε. Привет, мир. 你好世界。 مرحبا بالعالم.",
            id="emoji-and-non-latin",
        ),
    ],
)
def test_hostile_text_gives_a_valid_mp3(tmp_path: Path, text: str) -> None:
    essay = tmp_path / "hostile.txt"
    essay.write_text(text, encoding="utf-8")
    out = tmp_path / "hostile.mp3"
    build(out, essay, timeout=240)
    assert MP3(out).info.length > 1
    decode(out)
    assert len(chapters_of(out)) == 1


def loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak, as ffmpeg's ebur128 filter measures them."""
    from helpers import ffmpeg_exe

    proc = subprocess.run(
        [ffmpeg_exe(), "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = proc.stderr[proc.stderr.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1])
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)[1])
    return integrated, peak


def test_seed_is_levelled_for_phones(seed_mp3: Path) -> None:
    integrated, true_peak = loudness(seed_mp3)
    assert -20 <= integrated <= -18  # -19 LUFS for mono
    assert true_peak <= -1.0


def test_chapters_json_matches_the_id3_chapters(seed_mp3: Path) -> None:
    import json

    data = json.loads(seed_mp3.with_suffix(".chapters.json").read_text("utf-8"))
    assert data["version"] == "1.2.0"
    ours = chapters_of(seed_mp3)
    assert [c["title"] for c in data["chapters"]] == [title for title, _, _ in ours]
    for chapter, (_, start, _) in zip(data["chapters"], ours, strict=True):
        assert abs(chapter["startTime"] * 1000 - start) <= 2


def test_transcript_cues_are_ordered_and_cover_the_essay(seed_mp3: Path) -> None:
    text = seed_mp3.with_suffix(".vtt").read_text("utf-8")
    assert text.startswith("WEBVTT\n")
    times = re.findall(
        r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$", text, re.M
    )
    spans = [
        (
            ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms),
            ((int(h2) * 60 + int(m2)) * 60 + int(s2)) * 1000 + int(ms2),
        )
        for h, m, s, ms, h2, m2, s2, ms2 in times
    ]
    duration_ms = MP3(seed_mp3).info.length * 1000
    assert all(start < end for start, end in spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert spans[-1][1] <= duration_ms
    lines = [
        line for line in text.splitlines() if line and not re.match(r"^\d+$|^\d\d:|^WEBVTT", line)
    ]
    assert max(map(len, lines)) <= 65
    spoken = len(" ".join(lines).split())
    assert spoken >= 0.9 * len(SEED.read_text("utf-8").split())


def test_intro_and_outro_frame_the_speech(tmp_path: Path) -> None:
    from helpers import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
         "-y", str(tmp_path / "jingle.wav")],
        check=True,
    )  # fmt: skip
    essay = tmp_path / "essay.md"
    essay.write_text("One sentence to hear.\n", encoding="utf-8")
    plain = tmp_path / "plain.mp3"
    build(plain, essay)
    (tmp_path / "narrator.toml").write_text(
        'intro = "jingle.wav"\noutro = "jingle.wav"\n', encoding="utf-8"
    )
    framed = tmp_path / "framed.mp3"
    build(framed, essay)
    added = MP3(framed).info.length - MP3(plain).info.length
    assert 5.5 < added < 6.5  # two three-second jingles
    cue = re.search(
        r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) -->", framed.with_suffix(".vtt").read_text(), re.M
    )
    assert int(cue[3]) == 3  # the speech starts after the three-second intro
    (tmp_path / "narrator.toml").write_text('intro = "missing.wav"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", "build", str(essay), "-o", str(framed)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_m4b_has_chapters_cover_and_is_repeatable(tmp_path: Path) -> None:
    from mutagen.mp4 import MP4

    first, second = tmp_path / "a.m4b", tmp_path / "b.m4b"
    build(first, EXAMPLE, "--format", "m4b")
    build(second, EXAMPLE, "--format", "m4b", "--no-cache")
    assert first.read_bytes() == second.read_bytes()
    meta = ffmetadata(first)
    titles = re.findall(r"^title=(.*)$", meta.split("[CHAPTER]", 1)[1], flags=re.M)
    assert titles == ["On Walking Slowly", "The First Mile", "What the Path Teaches", "Coming Home"]
    tags = MP4(first).tags
    assert tags["\xa9nam"] == ["On Walking Slowly"] and tags["\xa9ART"] == ["The narrator project"]
    assert tags["covr"] and MP4(first).info.channels == 1
    assert first.with_suffix(".chapters.json").is_file()
