"""A user's mistake (or a full disk) is one line naming the path and what to do, with the
right exit code: never "internal error"."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from narrator.cache import AudioCache
from narrator.errors import OutputError

ESSAY = "# Tiny\n\nOne short sentence here.\n\n## Two\n\nThe second chapter speaks.\n"
ROOT = os.geteuid() == 0


@pytest.fixture
def essay(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.md"
    path.write_text(ESSAY, encoding="utf-8")
    return path


def build(essay: Path, out: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "COLUMNS": "200"}
    env.pop("NARRATOR_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "narrator", "build", str(essay), "-o", str(out), "-q", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=essay.parent,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int, *names: object) -> str:
    """The run failed with `code` and said so in one line naming each of `names`."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in result.stderr
    for name in names:
        assert str(name) in lines[0], lines[0]
    return lines[0]


def _chattr(flag: str, path: Path) -> None:
    subprocess.run(["chattr", flag, str(path)], check=True, capture_output=True)


@pytest.fixture
def read_only() -> Iterator[callable]:
    """Make a folder or file unwritable: immutable for root (who ignores permission bits),
    else by its mode bits."""
    undo: list[Path] = []

    def make(path: Path, immutable: bool = False) -> None:
        if ROOT or immutable:
            if not shutil.which("chattr") or not ROOT:
                pytest.skip("needs root and chattr (an immutable file)")
            try:
                _chattr("+i", path)
            except subprocess.CalledProcessError as exc:
                pytest.skip(f"this file system has no immutable flag: {exc.stderr.strip()}")
        else:
            path.chmod(0o555)
        undo.append(path)

    yield make
    for path in undo:
        if ROOT:
            _chattr("-i", path)
        else:
            path.chmod(0o755)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 64 KB file system, filled at once by any audio."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not ROOT or not shutil.which("mount"):
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_cache_folder(essay: Path, tmp_path: Path, read_only) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    read_only(cache)
    line = one_line(build(essay, tmp_path / "out.mp3", cache), 1, cache)
    assert "--no-cache" in line


def test_a_full_cache_folder(essay: Path, tmp_path: Path, small_disk: Path) -> None:
    line = one_line(build(essay, tmp_path / "out.mp3", small_disk), 1, small_disk)
    assert "space" in line


def test_a_read_only_output_folder(essay: Path, tmp_path: Path, read_only) -> None:
    out = tmp_path / "out"
    out.mkdir()
    read_only(out)
    line = one_line(build(essay, out / "episode.mp3", tmp_path / "cache"), 1, out)
    assert "nothing was written" in line  # the episode and its sidecars are one unit
    assert list(out.iterdir()) == []


def test_a_full_output_folder(essay: Path, tmp_path: Path, small_disk: Path) -> None:
    line = one_line(build(essay, small_disk / "episode.mp3", tmp_path / "cache"), 1, small_disk)
    assert "space" in line
    assert list(small_disk.iterdir()) == []


def test_an_immutable_output_file(essay: Path, tmp_path: Path, read_only) -> None:
    out = tmp_path / "episode.mp3"
    assert build(essay, out, tmp_path / "cache").returncode == 0
    before = out.read_bytes()
    read_only(out, immutable=True)
    essay.write_text(ESSAY.replace("speaks", "speaks again"), encoding="utf-8")
    one_line(build(essay, out, tmp_path / "cache"), 1, out)
    assert out.read_bytes() == before


def test_a_folder_where_a_cache_entry_should_be(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert build(essay, tmp_path / "first.mp3", cache).returncode == 0
    entries = [p for p in cache.rglob("*") if p.is_file()]
    for entry in entries:  # each one a folder now, with something in it
        entry.unlink()
        entry.mkdir()
        (entry / "keep.txt").write_text("not narrator's", encoding="utf-8")
    line = one_line(build(essay, tmp_path / "second.mp3", cache), 1)
    assert any(str(entry) in line for entry in entries), line
    assert all((entry / "keep.txt").is_file() for entry in entries)


def test_a_cache_entry_with_a_good_checksum_and_garbage_inside(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    clean = tmp_path / "clean.mp3"
    assert build(essay, clean, cache).returncode == 0
    for entry in (cache / "v1" / "chapters").rglob("*"):
        if entry.is_file():  # well formed as far as the checksum goes, nonsense inside
            payload = b"\x00\x00\x00\x02{}garbage"
            entry.write_bytes(b"NRC1" + hashlib.sha256(payload).digest() + payload)
    again = tmp_path / "again.mp3"
    result = build(essay, again, cache)
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == clean.read_bytes()


def test_ffmpeg_that_is_not_ffmpeg(essay: Path, tmp_path: Path) -> None:
    (essay.parent / "narrator.toml").write_text('ffmpeg = "/bin/true"\n', encoding="utf-8")
    one_line(build(essay, tmp_path / "out.mp3", tmp_path / "cache"), 3, "/bin/true")
    assert not (tmp_path / "out.mp3").exists()


def test_cache_clear_racing_a_build(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    essay.write_text(ESSAY + "".join(f"\nSentence number {n} is here.\n" for n in range(40)))
    done = threading.Event()

    def clear_until_done() -> None:  # as if `narrator cache clear` were run again and again
        while not done.wait(0.02):
            # refused (and nothing removed) while the build has made the folder but not
            # yet marked it as narrator's cache
            with contextlib.suppress(OutputError):
                AudioCache(cache).clear()

    clearer = threading.Thread(target=clear_until_done, daemon=True)
    clearer.start()
    try:
        result = build(essay, tmp_path / "out.mp3", cache)
    finally:
        done.set()
        clearer.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.mp3").stat().st_size > 0
