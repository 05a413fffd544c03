"""Where a build may write (issue 13, section 1): never over a file narrator did not make.

Each refusal comes before any audio is made: one line, exit 1, every file as it was."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import ROOMS, ffmpeg_exe
from PIL import Image

SHORT = "# Talk\n\nA short talk, to be heard.\n"


def _snapshot(folder: Path) -> dict[Path, tuple[int, str]]:
    """Every entry under `folder`: its kind and, for a file, its content's hash."""
    found = {}
    for path in folder.rglob("*"):
        mode = path.lstat().st_mode
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(mode) else ""
        found[path] = (stat.S_IFMT(mode), digest)
    return found


def _refused(result, folder: Path, before: dict, *words: str) -> None:
    assert result.code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("narrator: "), result.stderr
    assert "internal error" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert _snapshot(folder) == before  # nothing replaced, nothing left behind


def _jingle(path: Path) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
         "-ac", "1", "-b:a", "64k", str(path)],
        check=True,
    )  # fmt: skip


@pytest.mark.parametrize("named", ["essay", "intro", "hard link to the outro", "settings", "link"])
def test_output_naming_an_input_is_refused(narrate, tmp_path: Path, named: str) -> None:
    essay = tmp_path / "talk.md"
    essay.write_text(SHORT, encoding="utf-8")
    _jingle(tmp_path / "jingle.mp3")
    _jingle(tmp_path / "coda.mp3")
    settings = tmp_path / "narrator.toml"
    settings.write_text('intro = "jingle.mp3"\noutro = "coda.mp3"\n', encoding="utf-8")
    extra: list[str | Path] = []
    if named == "essay":
        out = essay
    elif named == "intro":
        out = tmp_path / "jingle.mp3"
    elif named == "hard link to the outro":
        out = tmp_path / "same.mp3"
        os.link(tmp_path / "coda.mp3", out)
    elif named == "settings":  # a settings file may have any name
        out = tmp_path / "settings.mp3"
        out.write_text(settings.read_text(encoding="utf-8"), encoding="utf-8")
        extra = ["--config", out]
    else:  # a symbolic link to the essay
        out = tmp_path / "episode.mp3"
        out.symlink_to(essay)
    before = _snapshot(tmp_path)
    _refused(narrate("build", essay, "-o", out, *extra), tmp_path, before)


def test_the_cover_sidecar_never_replaces_the_users_cover(narrate, tmp_path: Path) -> None:
    """cover = "talk.png" with the episode built beside it: its sidecar would be talk.png."""
    essay = tmp_path / "talk.md"
    essay.write_text(SHORT, encoding="utf-8")
    Image.new("RGB", (2400, 1600), (200, 120, 40)).save(tmp_path / "talk.png")
    (tmp_path / "narrator.toml").write_text('cover = "talk.png"\n', encoding="utf-8")
    before = _snapshot(tmp_path)
    _refused(narrate("build", essay, "-o", tmp_path), tmp_path, before, "talk.png", "cover")


@pytest.mark.parametrize("kind", ["fifo", "character device", "folder as a sidecar"])
def test_an_output_that_is_not_a_regular_file_is_refused(
    narrate, tmp_path: Path, kind: str
) -> None:
    essay = tmp_path / "rooms.md"
    essay.write_text(ROOMS, encoding="utf-8")
    out = tmp_path / "rooms.mp3"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "character device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(out, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a second /dev/null
    else:  # the episode's transcript is a folder of the user's
        (tmp_path / "rooms.vtt").mkdir()
        (tmp_path / "rooms.vtt" / "notes.txt").write_text("mine", encoding="utf-8")
    before = _snapshot(tmp_path)
    _refused(narrate("build", essay, "-o", tmp_path), tmp_path, before, "not a regular file")


@pytest.mark.parametrize("out", ["missing/", "out.wav", "episode", "episode.m4b"])
def test_an_output_name_that_is_not_an_episode_is_refused(
    narrate, tmp_path: Path, out: str
) -> None:
    """A trailing slash names a folder, even one that does not exist (typer drops the
    slash from a Path); a file must end in the format's extension."""
    essay = tmp_path / "talk.md"
    essay.write_text(SHORT, encoding="utf-8")
    before = _snapshot(tmp_path)
    _refused(narrate("build", essay, "-o", out), tmp_path, before)


def test_new_files_honour_the_umask_and_a_replaced_file_keeps_its_mode(
    narrate, tmp_path: Path
) -> None:
    essay = tmp_path / "talk.md"
    essay.write_text(SHORT, encoding="utf-8")
    out = tmp_path / "talk.mp3"
    files = [out, *(out.with_suffix(s) for s in (".chapters.json", ".vtt", ".png"))]
    previous = os.umask(0o027)
    try:
        assert narrate("build", essay, "-o", out, "-q").code == 0
        assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o640)}
        for file in files:
            file.chmod(0o600)
        essay.write_text(SHORT + "\nOne more sentence.\n", encoding="utf-8")
        assert narrate("build", essay, "-o", out, "-q").code == 0
    finally:
        os.umask(previous)
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o600)}
