"""`narrator lint` on m4b audiobooks, on several files and folders, with progress on
long files, and on a cover too large to open safely."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ffmpeg_exe
from mutagen.id3 import APIC, ID3, TIT2, PictureType
from PIL import Image

ESSAY = """---
title: Two Rooms
author: Ada Writer
---

# Two Rooms

## The Kitchen

The kitchen smells of bread.

## The Garden

Bees work the lavender.
"""


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same essay built as an MP3 and as an m4b, in one folder."""
    root = tmp_path_factory.mktemp("lint_files")
    (root / "rooms.md").write_text(ESSAY, encoding="utf-8")
    out = root / "out"
    out.mkdir()
    for fmt in ("mp3", "m4b"):
        command = [sys.executable, "-m", "narrator", "build", "rooms.md", "-o", "out", "-q"]
        subprocess.run([*command, "--format", fmt], check=True, cwd=root, capture_output=True)
    return out


def silent_mp3(path: Path, seconds: int) -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono",
         "-t", str(seconds), "-b:a", "32k", "-y", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_an_m4b_is_checked_for_what_matters_there(narrate, shelf: Path) -> None:
    result = narrate("lint", shelf / "rooms.m4b")
    assert result.code == 0, result.stdout
    assert "ID3" not in result.stdout and "MPEG" not in result.stdout
    for name in ("audio", "title", "chapters", "cover", "chapters in ffmpeg", "loudness"):
        assert f"ok   {name}: " in result.stdout, name
    assert "ffmpeg lists 2 of the 2" in result.stdout
    assert "ok   loudness: every chapter within -19 ± 1 LUFS: " in result.stdout
    assert "(2 chapters; the whole file " in result.stdout


def test_a_folder_and_several_files(narrate, shelf: Path, tmp_path: Path) -> None:
    result = narrate("lint", shelf)
    assert result.code == 0, result.stdout
    assert f"{shelf / 'rooms.m4b'}: all checks passed" in result.stdout
    assert f"{shelf / 'rooms.mp3'}: all checks passed" in result.stdout
    assert result.stdout.rstrip().endswith("2 of 2 files passed")

    broken = tmp_path / "broken.mp3"
    broken.write_text("not audio\n" * 50, encoding="utf-8")
    result = narrate("lint", broken, shelf / "rooms.mp3")
    assert result.code == 1  # one failed: the other is still checked
    assert f"{broken}: FAILED" in result.stdout
    assert f"{shelf / 'rooms.mp3'}: all checks passed" in result.stdout
    assert "1 of 2 files passed" in result.stdout


def test_a_missing_file_stops_before_any_check(narrate, shelf: Path, tmp_path: Path) -> None:
    result = narrate("lint", shelf / "rooms.mp3", tmp_path / "nope.mp3")
    assert result.code != 0 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"narrator: {tmp_path / 'nope.mp3'} does not exist")


def test_progress_on_a_long_file(narrate, tmp_path: Path) -> None:
    long = silent_mp3(tmp_path / "long.mp3", 70)
    result = narrate("lint", long)
    assert result.code == 1  # no tag, no chapters
    assert "loudness: 100%" in result.stderr.splitlines()
    short = silent_mp3(tmp_path / "short.mp3", 5)
    assert "loudness" not in narrate("lint", short).stderr


def test_a_cover_too_large_to_open_safely(narrate, tmp_path: Path) -> None:
    mp3 = silent_mp3(tmp_path / "bomb.mp3", 1)
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG")  # 400 Mpx, a few kB
    tags = ID3()
    tags.add(TIT2(text=["Bomb"]))
    tags.add(APIC(mime="image/png", type=PictureType.COVER_FRONT, desc="", data=buffer.getvalue()))
    tags.save(mp3, v2_version=3)
    result = narrate("lint", mp3)
    assert result.code == 1 and "internal error" not in result.stderr, result.stderr
    assert "FAIL cover: the front cover is too large to open safely" in result.stdout
