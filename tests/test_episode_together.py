"""An episode is one unit (issue 13, section 2): the MP3 and its sidecars are replaced
together or not at all, whenever a build is interrupted or fails, and the message says
which set the folder holds. Real builds in subprocesses; nothing of narrator's is patched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SUFFIXES = (".mp3", ".chapters.json", ".vtt", ".png")


def _essay(title: str, words: str) -> str:
    chapters = []
    for number in range(1, 4):
        sentences = " ".join(f"{words} number {i} of part {number}." for i in range(8))
        chapters.append(f"## {title} part {number}\n\n{sentences}\n")
    return f"# {title}\n\n" + "\n".join(chapters)


OLD = _essay("The Old Talk", "This is the old sentence")
NEW = _essay("A New Talk", "Here is a new sentence")


def _files(out: Path) -> list[Path]:
    return [out.with_suffix(suffix) for suffix in SUFFIXES]


def _snapshot(out: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in _files(out)}


def _which(out: Path, old: dict[Path, bytes]) -> str:
    """ "old" or "new" when every file is of one build, else "mixed"."""
    same = [path.read_bytes() == old[path] for path in _files(out)]
    return "old" if all(same) else "new" if not any(same) else f"mixed {same}"


def _start(
    essay: Path, out: Path, cache: Path, *extra: str, **more_env: str
) -> subprocess.Popen[str]:
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), **more_env}
    env.pop("NARRATOR_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "narrator", "build", str(essay), "-o", str(out), "-q", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=essay.parent,
    )


def _build(essay: Path, out: Path, cache: Path) -> None:
    proc = _start(essay, out, cache)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The old episode, built once, and a cache that holds the audio of both texts (so a
    rebuild of the new text reaches the writing quickly)."""
    folder = tmp_path_factory.mktemp("built")
    essay, cache = folder / "talk.md", folder / "cache"
    (folder / "new").mkdir()
    (folder / "old").mkdir()
    essay.write_text(NEW, encoding="utf-8")
    _build(essay, folder / "new" / "talk.mp3", cache)
    essay.write_text(OLD, encoding="utf-8")
    _build(essay, folder / "old" / "talk.mp3", cache)
    return folder / "old" / "talk.mp3", cache


@pytest.fixture
def episode(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path, Path, dict]:
    """The new text in an essay, the old episode in out/, the warm cache, the old files."""
    old_mp3, cache = built
    essay, out = tmp_path / "talk.md", tmp_path / "out" / "talk.mp3"
    essay.write_text(NEW, encoding="utf-8")
    out.parent.mkdir()
    for path in _files(old_mp3):
        shutil.copy(path, out.parent)
    return essay, out, cache, _snapshot(out)


def _restore(old: dict[Path, bytes]) -> None:
    for path, data in old.items():
        path.write_bytes(data)


def _check(proc: subprocess.Popen[str], out: Path, old: dict[Path, bytes]) -> str:
    _, err = proc.communicate(timeout=120)
    which = _which(out, old)
    assert which in ("old", "new"), (which, err)
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")], err
    if proc.returncode == 0:
        assert which == "new", err
    else:
        assert proc.returncode == 130 and err.count("\n") == 1, err
        said = "the new episode is complete" if which == "new" else "previous episode"
        assert said in err and "internal error" not in err, (which, err)
    return which


def test_an_interrupt_while_the_files_are_renamed_leaves_one_whole_set(episode) -> None:
    """Ctrl-C the moment the first file of the new set appears: the others follow."""
    essay, out, cache, old = episode
    for _ in range(2):
        _restore(old)
        inodes = {path: path.stat().st_ino for path in _files(out)}
        proc = _start(essay, out, cache)
        while proc.poll() is None:
            if any(os.stat(path).st_ino != inodes[path] for path in _files(out)):
                proc.send_signal(signal.SIGINT)
                break
        _check(proc, out, old)


def test_an_interrupt_while_speaking_leaves_the_old_set(episode, tmp_path: Path) -> None:
    essay, out, cache, old = episode
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = _start(essay, out, cache, "--no-cache", "-j", "1", TMPDIR=str(scratch))
    # until the first clip is spoken: the build keeps them in clips/ (the speech worker
    # may have made its own scratch files already, while the essay was read)
    while proc.poll() is None and not any(
        p.is_file() and "clips" in p.parts for p in scratch.rglob("*")
    ):
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    assert _check(proc, out, old) == "old"


def test_a_disk_that_fills_while_writing_leaves_the_old_set(episode, tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    essay, built_out, cache, _ = episode
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = disk / "talk.mp3"
        for path in _files(built_out):
            shutil.copy(path, disk)
        old = _snapshot(out)
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(bytes(free - len(old[out]) // 2))  # room for half an MP3
        proc = _start(essay, out, cache)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1 and err.count("\n") == 1, err
        assert "nothing was written" in err and "previous episode is unchanged" in err, err
        assert _which(out, old) == "old"
        assert not [p.name for p in disk.iterdir() if p.name.startswith(".")]
    finally:
        subprocess.run(["umount", str(disk)], check=True)
