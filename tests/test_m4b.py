"""`--format m4b`: AAC in MP4 with chapters, metadata and cover, the same on every build."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import EXAMPLE, build, ffmetadata


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
