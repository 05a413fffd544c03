"""`--format m4b`: AAC in MP4 with chapters, metadata and cover, the same on every build."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import EXAMPLE, Recorder, build, ffmetadata, ffmpeg_exe

from narrator.config import Overrides
from narrator.lint import lint
from narrator.pipeline import BuildRequest, build_all
from narrator.speech.pool import Voice


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
    # AAC overshoots the levelled peaks: the episode is checked and made quieter if need be
    checks = {check.name: check for check in lint(first, ffmpeg_exe())}
    assert checks["true peak"].ok and checks["loudness"].ok, checks


def test_an_unchanged_m4b_comes_whole_from_the_cache(
    fake_engine: Voice, essay: Path, tmp_path: Path, fresh_cache: Path
) -> None:
    """An unchanged m4b rebuild copies the cached episode: no speaking, levelling or AAC
    encoding, the same bytes; a changed title makes it again."""
    reporter = Recorder()

    def build_m4b(name: str, title: str | None = None) -> Path:
        out = tmp_path / f"{name}.m4b"
        request = BuildRequest(
            (essay,), out, Overrides(engine="fake", jobs=1, format="m4b", title=title)
        )
        build_all(request, reporter)
        return out

    first, again = build_m4b("first"), build_m4b("again")
    assert again.read_bytes() == first.read_bytes()
    assert "assemble and encode" in reporter.results[0].stage_seconds
    assert "assemble and encode" not in reporter.results[1].stage_seconds  # nothing was encoded
    assert reporter.results[1].reused_chapters == len(reporter.results[1].timeline.chapters)
    assert reporter.results[1].timeline == reporter.results[0].timeline
    build_m4b("retitled", "Another Title")
    assert "assemble and encode" in reporter.results[2].stage_seconds
