"""Kills and interrupts of a real build: nothing of narrator's outlives it for long.

Each test runs `narrator build` as a subprocess with its own temporary folder (TMPDIR)
and cache, signals it at a chosen moment, and looks at the processes and files left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import SEED, ffmpeg_exe

WAIT_S = 60.0


def _ppid_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return int(fields[1]), fields[0]


def descendants(root: int) -> set[int]:
    """Every live process below `root` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _ppid_and_state(int(entry.name))) is not None:
            children.setdefault(info[0], []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    info = _ppid_and_state(pid)
    return info is not None and info[1] not in ("Z", "X")


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    folders = {"work": tmp_path / "work", "tmp": tmp_path / "tmp", "cache": tmp_path / "cache"}
    for folder in folders.values():
        folder.mkdir()
    # the whole seed essay: long enough that a build is still speaking when a signal comes,
    # even on an idle machine
    (folders["work"] / "essay.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    return folders


def start(place: dict[str, Path], *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "narrator", "build", "essay.txt", "-o", "out.mp3", *args],
        cwd=place["work"],
        env={
            **os.environ,
            "TMPDIR": str(place["tmp"]),
            "NARRATOR_CACHE_DIR": str(place["cache"]),
            **env,
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def workers_started(proc: subprocess.Popen[str]) -> bool:
    return sum("spawn_main" in cmdline(pid) for pid in descendants(proc.pid)) >= 1


def narrator_scratch(place: dict[str, Path]) -> list[str]:
    return sorted(p.name for p in place["tmp"].iterdir() if p.name.startswith("narrator-"))


def test_a_killed_build_leaves_no_process_and_the_next_build_cleans_up(
    place: dict[str, Path],
) -> None:
    proc = start(place, "--no-cache", "-j", "2")
    try:
        assert wait_until(lambda: workers_started(proc)), "no speech workers started"
        time.sleep(1.0)  # well into synthesis
        left = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT_S)
        assert wait_until(lambda: not any(alive(pid) for pid in left), 3.0), [
            cmdline(pid) for pid in left if alive(pid)
        ]
    finally:
        proc.kill()
        proc.communicate(timeout=WAIT_S)
    # what a build killed later on leaves: a scratch folder with clips, a partial output;
    # beside them one of a live process, and things that are not narrator's
    work = place["work"]
    scratch = place["tmp"] / f"narrator-{proc.pid}-build-k1ll3d" / "clips"
    scratch.mkdir(parents=True)
    (scratch / "clip").write_bytes(b"x" * 1000)
    dead_partial = work / f".out.mp3.{proc.pid}-k1ll3d.partial"
    live_partial = work / f".out.mp3.{os.getpid()}-l1v3.partial"
    mine = [place["tmp"] / "narrator-notes", work / ".out.mp3.backup.partial"]
    for path in (dead_partial, live_partial, *mine):
        path.write_bytes(b"x" * 1000)
    # the next build cleans up whatever it builds: a short essay, not the seed again
    (work / "essay.txt").write_text("# Next\n\nA short essay this time.\n", encoding="utf-8")
    done = start(place)
    _, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr
    assert not dead_partial.exists()
    assert live_partial.exists() and all(path.exists() for path in mine)
    assert narrator_scratch(place) == ["narrator-notes"]  # nothing of the killed build


def test_sigterm_is_handled_like_ctrl_c(place: dict[str, Path]) -> None:
    proc = start(place, "--no-cache", "-j", "2")
    try:
        assert wait_until(lambda: workers_started(proc)), "no speech workers started"
        time.sleep(0.5)
        left = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "internal error" not in stderr
    assert wait_until(lambda: not any(alive(pid) for pid in left), 3.0)
    assert narrator_scratch(place) == []


@pytest.mark.parametrize("delay", [0.3, 1.5])
def test_ctrl_c_without_the_cache_is_clean(place: dict[str, Path], delay: float) -> None:
    # Ctrl-C reaches the whole process group; workers ignore it and are stopped by the
    # build, before its scratch folder (where their clips land) is removed
    proc = start(place, "--no-cache", "-j", "2")
    try:
        assert wait_until(lambda: workers_started(proc)), "no speech workers started"
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "internal error" not in stderr, stderr
    assert narrator_scratch(place) == []


def test_sigint_to_the_main_process_stops_a_long_encode_at_once(
    place: dict[str, Path],
) -> None:
    # an ffmpeg whose levelling of m4b blocks takes two minutes, as a very long chapter's
    # would (MP3 blocks are encoded in-process: test_produce stops those)
    slow = place["work"] / "slow-ffmpeg"
    slow.write_text(
        f'#!/bin/sh\ncase "$*" in *alimiter*) exec sleep 120;; esac\nexec {ffmpeg_exe()} "$@"\n'
    )
    slow.chmod(0o755)
    (place["work"] / "essay.txt").write_text("# One\n\nA short chapter.\n", encoding="utf-8")
    proc = start(place, "-j", "1", "--format", "m4b", "-o", "out.m4b", NARRATOR_FFMPEG=str(slow))
    try:
        encoding = lambda: any(  # noqa: E731
            cmdline(pid).startswith("sleep 120") for pid in descendants(proc.pid)
        )
        assert wait_until(encoding), "the encode never started"
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    # ffmpeg is killed at once, the workers stopped and the interpreter gone within a second
    assert took < 1.0, f"the interrupt took {took:.1f} s"
