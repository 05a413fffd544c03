"""Rebuilding after edits: only what changed is redone, and the file is exactly what a
clean build makes. Real builds through the `narrator` command, with real caches."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import SEED

ESSAY = """# Three Rooms

## The Kitchen

The kitchen smells of bread. A kettle waits on the stove. Nobody is in a hurry here.

## The Study

Books lean against each other on the shelves. The lamp is warm. A letter lies unfinished.

## The Garden

The gate creaks when it opens. Bees work the lavender. The evening comes slowly.
"""


def run(*args: str | Path, cache: Path, cwd: Path, timeout: float = 300):
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "narrator", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def reused(stdout: str) -> tuple[int, int]:
    found = re.search(r"reused (\d+) of (\d+) segments", stdout)
    assert found, stdout
    return int(found[1]), int(found[2])


@pytest.fixture
def essay(tmp_path: Path) -> Path:
    path = tmp_path / "rooms.md"
    path.write_text(ESSAY, encoding="utf-8")
    return path


def build(essay: Path, out: Path, cache: Path, *extra: str):
    result = run("build", essay, "-o", out, *extra, cache=cache, cwd=essay.parent)
    assert result.returncode == 0, result.stderr
    return result


def test_edit_rebuilds_one_segment_and_matches_a_clean_build(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build(essay, tmp_path / "first.mp3", cache)
    essay.write_text(ESSAY.replace("The lamp is warm.", "The lamp is very warm."), "utf-8")
    rebuilt = build(essay, tmp_path / "rebuilt.mp3", cache)
    assert reused(rebuilt.stdout) == (12, 13)  # headings are segments too
    assert "reused 12 of 13 segments and 2 of 3 encoded chapters" in rebuilt.stdout
    build(essay, tmp_path / "clean.mp3", tmp_path / "empty-cache")
    assert (tmp_path / "rebuilt.mp3").read_bytes() == (tmp_path / "clean.mp3").read_bytes()


def test_unchanged_essay_rebuilds_without_changing_a_byte(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "rooms.mp3"
    build(essay, out, cache)
    first = out.read_bytes()
    again = build(essay, out, cache)
    assert reused(again.stdout) == (13, 13)
    assert out.read_bytes() == first


def test_inserted_paragraph_is_all_that_is_synthesized(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build(essay, tmp_path / "before.mp3", cache)
    essay.write_text(
        ESSAY.replace(
            "## The Study\n\n", "## The Study\n\nA new paragraph. It has two sentences.\n\n"
        ),
        "utf-8",
    )
    plan = run("build", essay, "--dry-run", cache=cache, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    rows = {line.split("│")[2].strip(): line for line in plan.stdout.splitlines() if "│" in line}
    assert re.search(r"│\s*2\s*│\s*4\s*│", rows["The Study"])  # synthesize 2, reuse 4
    assert re.search(r"│\s*0\s*│\s*5\s*│", rows["The Kitchen"])  # with the opening line
    assert "would synthesize 2 and reuse 13 of 15 segments" in plan.stdout
    result = build(essay, tmp_path / "after.mp3", cache)
    assert reused(result.stdout) == (13, 15)


def test_dry_run_and_no_cache_write_nothing(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plan = run("build", essay, "--dry-run", cache=cache, cwd=tmp_path)
    assert plan.returncode == 0 and "would synthesize 13 and reuse 0 of 13" in plan.stdout
    assert not (tmp_path / "audio").exists() and not cache.exists()
    build(essay, tmp_path / "x.mp3", cache, "--no-cache")
    assert not cache.exists()


def test_corrupt_cache_entries_are_made_again(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build(essay, tmp_path / "good.mp3", cache)
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert len(entries) > 12
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[: len(entry.read_bytes()) // 2])
    result = build(essay, tmp_path / "again.mp3", cache)
    assert reused(result.stdout) == (0, 13)
    assert (tmp_path / "again.mp3").read_bytes() == (tmp_path / "good.mp3").read_bytes()


def test_two_builds_sharing_a_cache_at_once_both_succeed(essay: Path, tmp_path: Path) -> None:
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "narrator", "build", str(essay), "-o", str(tmp_path / name)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a.mp3", "b.mp3")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert (tmp_path / "a.mp3").read_bytes() == (tmp_path / "b.mp3").read_bytes()


def test_build_killed_halfway_then_run_again_is_correct(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "seed.mp3"
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "build", str(SEED), "-o", str(out), "-q"],
        env=env,
        start_new_session=True,  # so the kill reaches the workers too, as a crash would
    )
    deadline = time.monotonic() + 60
    while not list(cache.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first clips are in the cache
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    build(SEED, out, cache, "-q")
    build(SEED, tmp_path / "clean.mp3", tmp_path / "clean-cache", "-q")
    assert out.read_bytes() == (tmp_path / "clean.mp3").read_bytes()


def test_watch_rebuilds_when_the_essay_is_saved(essay: Path, tmp_path: Path) -> None:
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "watched.mp3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "watch", str(essay), "-o", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def readline() -> str:  # never wait forever on a watcher that missed a change
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "watch printed nothing for two minutes"
        return proc.stdout.readline()

    try:
        assert "built" in readline()
        first = out.read_bytes()
        essay.write_text(ESSAY.replace("Bees work", "Bees still work"), "utf-8")
        lines = [readline() for _ in range(3)]
        assert "changed" in lines[0] and "The Garden" in lines[1], lines
        assert "reused 12 of 13 segments" in lines[2], lines
        assert out.read_bytes() != first
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped watching" in rest and "Traceback" not in err


def test_cache_info_and_clear(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build(essay, tmp_path / "x.mp3", cache)
    info = run("cache", "info", cache=cache, cwd=tmp_path)
    assert info.returncode == 0 and str(cache) in info.stdout
    assert re.search(r"entries: (\d+)", info.stdout)[1] != "0"
    cleared = run("cache", "clear", cache=cache, cwd=tmp_path)
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    assert "entries: 0" in run("cache", "info", cache=cache, cwd=tmp_path).stdout
