"""`narrator lint`: passes narrator's own output, names what is wrong with broken files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import EXAMPLE, Recorder, ffmpeg_exe
from mutagen.id3 import APIC, ID3, PictureType

from narrator.config import Overrides
from narrator.ffmpeg import find_ffmpeg
from narrator.lint import lint
from narrator.pipeline import BuildRequest, build_all
from narrator.speech.pool import Voice


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import sys

    out = tmp_path_factory.mktemp("lint") / "walking.mp3"
    subprocess.run(
        [sys.executable, "-m", "narrator", "build", str(EXAMPLE), "-o", str(out), "-q"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def copy(episode: Path, tmp_path: Path) -> Path:
    target = tmp_path / "broken.mp3"
    shutil.copyfile(episode, target)
    return target


def test_lint_passes_narrators_own_output(narrate, episode: Path) -> None:
    result = narrate("lint", episode)
    assert result.code == 0, result.stdout
    assert "all checks passed" in result.stdout


def test_lint_fails_id3v24_chapter_art(narrate, episode: Path, tmp_path: Path) -> None:
    broken = copy(episode, tmp_path)
    tags = ID3(broken)
    art = APIC(encoding=3, mime="image/png", type=PictureType.OTHER, desc="", data=b"\x89PNG" * 64)
    for chap in tags.getall("CHAP"):
        chap.sub_frames.add(art)
    tags.save(broken, v2_version=4)
    result = narrate("lint", broken)
    assert result.code == 1
    assert "FAIL chapter art" in result.stdout and "FAIL ID3 version" in result.stdout


def test_lint_fails_a_file_without_chapters(narrate, episode: Path, tmp_path: Path) -> None:
    broken = copy(episode, tmp_path)
    tags = ID3(broken)
    tags.delall("CHAP")
    tags.delall("CTOC")
    tags.save(broken, v2_version=3)
    result = narrate("lint", broken)
    assert result.code == 1
    assert "FAIL chapters:" in result.stdout and "FAIL chapters in ffmpeg" in result.stdout


def test_lint_fails_a_file_that_is_too_loud(narrate, episode: Path, tmp_path: Path) -> None:
    loud = tmp_path / "loud.mp3"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(episode), "-map", "0:a", "-af", "volume=12dB",
         "-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "0", "-y", str(loud)],
        check=True,
    )  # fmt: skip
    ID3(episode).save(loud, v2_version=3)  # the same tags on the louder audio
    result = narrate("lint", loud)
    assert result.code == 1
    assert "FAIL loudness" in result.stdout or "FAIL true peak" in result.stdout


def test_lint_refuses_a_missing_file(narrate, tmp_path: Path) -> None:
    result = narrate("lint", tmp_path / "nope.mp3")
    assert result.code == 1 and "Traceback" not in result.stderr


def test_the_loudness_setting_levels_the_build_and_sets_lints_target(
    fake_engine: Voice, essay: Path, tmp_path: Path
) -> None:
    """One fact, read by both: `[audio] loudness` is what chapters are levelled to and what
    `lint` checks against."""
    (essay.parent / "narrator.toml").write_text("[audio]\nloudness = -23\n", encoding="utf-8")
    out = tmp_path / "quiet.mp3"
    reporter = Recorder()
    build_all(BuildRequest((essay,), out, Overrides(engine="fake", jobs=1)), reporter)
    loudness = {c.name: c for c in lint(out, find_ffmpeg(), loudness=-23.0)}["loudness"]
    assert loudness.ok, loudness.detail
    assert not {c.name: c for c in lint(out, find_ffmpeg())}["loudness"].ok  # -19 by default
