"""Builds end to end through the real `narrator` command: reproducible bytes, hostile text,
and rebuilds that redo only what changed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (
    ROOMS,
    SEED,
    Recorder,
    build,
    build_cached,
    chapters_of,
    decode,
    reused,
    run_cached,
)
from mutagen.mp3 import MP3

from narrator.audio.cover import COVERS, cover_key
from narrator.cache import SCHEMA, AudioCache
from narrator.config import Overrides
from narrator.errors import Interrupted
from narrator.pipeline import MEMOS, BuildRequest, BuildResult, build_all, prepare
from narrator.speech.pool import Voice


def test_same_essay_twice_gives_byte_identical_files(seed_mp3: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.mp3"
    # no cache, and a different worker count: still not one byte different
    build(again, SEED, "--jobs", "1", "--no-cache")
    assert again.read_bytes() == seed_mp3.read_bytes()


@pytest.mark.parametrize(
    "text",
    [
        # over 18,000 characters in one sentence, where pyttsx3's buffer once crashed
        pytest.param(" ".join(["word,"] * 3500) + " end.", id="3500-word-sentence"),
        pytest.param("Before it. " + "x" * 20000 + ". After it.", id="20000-char-word"),
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


def test_edit_rebuilds_one_segment_and_matches_a_clean_build(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build_cached(essay, tmp_path / "first.mp3", cache)
    essay.write_text(ROOMS.replace("The lamp is warm.", "The lamp is very warm."), "utf-8")
    rebuilt = build_cached(essay, tmp_path / "rebuilt.mp3", cache)
    assert reused(rebuilt.stdout) == (12, 13)  # headings are segments too
    assert "reused 12 of 13 segments and 2 of 3 encoded chapters" in rebuilt.stdout
    build_cached(essay, tmp_path / "clean.mp3", tmp_path / "empty-cache")
    assert (tmp_path / "rebuilt.mp3").read_bytes() == (tmp_path / "clean.mp3").read_bytes()


def test_unchanged_essay_rebuilds_without_changing_a_byte(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "rooms.mp3"
    build_cached(essay, out, cache)
    first, cover = out.read_bytes(), out.with_suffix(".png").read_bytes()
    # the generated cover is kept in the cache (test_cover: a rebuild reads it from there)
    kept = AudioCache(cache).get(COVERS, cover_key("Three Rooms", None))
    assert kept == cover
    again = build_cached(essay, out, cache)
    assert reused(again.stdout) == (13, 13)
    assert out.read_bytes() == first
    assert out.with_suffix(".png").read_bytes() == cover


def test_an_unchanged_episode_is_kept_and_a_change_to_any_of_its_files_rewrites_them(
    essay: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "rooms.mp3"
    files = [out, *(out.with_suffix(s) for s in (".chapters.json", ".vtt", ".png"))]

    def stamps() -> list[tuple[int, int]]:
        return [(p.stat().st_ino, p.stat().st_mtime_ns) for p in files]

    build_cached(essay, out, cache)
    first, written = out.read_bytes(), stamps()
    again = build_cached(essay, out, cache)
    assert "up to date: " in again.stdout and "wrote" not in again.stdout
    assert reused(again.stdout) == (13, 13) and "3 chapters" in again.stdout
    assert stamps() == written  # not one file was written
    # a sidecar deleted, the MP3 touched, or a tag asked for: the episode is written again
    out.with_suffix(".vtt").unlink()
    assert "wrote " in build_cached(essay, out, cache).stdout
    assert out.with_suffix(".vtt").exists() and out.read_bytes() == first
    os.utime(out)
    assert "wrote " in build_cached(essay, out, cache).stdout
    assert out.read_bytes() == first
    retitled = build_cached(essay, out, cache, "--title", "Four Rooms")
    assert "wrote " in retitled.stdout and out.read_bytes() != first
    # a build without the cache writes; the next one with it sees its files as new
    build_cached(essay, out, cache, "--no-cache")
    assert "wrote " in build_cached(essay, out, cache).stdout
    assert "up to date: " in build_cached(essay, out, cache).stdout


def test_inserted_paragraph_is_all_that_is_synthesized(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build_cached(essay, tmp_path / "before.mp3", cache)
    essay.write_text(
        ROOMS.replace(
            "## The Study\n\n", "## The Study\n\nA new paragraph. It has two sentences.\n\n"
        ),
        "utf-8",
    )
    plan = run_cached("build", essay, "--dry-run", cache=cache, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    rows = {line.split("│")[2].strip(): line for line in plan.stdout.splitlines() if "│" in line}
    assert re.search(r"│\s*2\s*│\s*4\s*│", rows["The Study"])  # synthesize 2, reuse 4
    assert re.search(r"│\s*0\s*│\s*5\s*│", rows["The Kitchen"])  # with the opening line
    assert "would synthesize 2 and reuse 13 of 15 segments" in plan.stdout
    result = build_cached(essay, tmp_path / "after.mp3", cache)
    assert reused(result.stdout) == (13, 15)


def test_dry_run_and_no_cache_write_nothing(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plan = run_cached("build", essay, "--dry-run", cache=cache, cwd=tmp_path)
    assert plan.returncode == 0 and "would synthesize 13 and reuse 0 of 13" in plan.stdout
    assert not (tmp_path / "audio").exists() and not cache.exists()
    build_cached(essay, tmp_path / "x.mp3", cache, "--no-cache")
    assert not cache.exists()


def test_corrupt_cache_entries_are_made_again(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build_cached(essay, tmp_path / "good.mp3", cache)
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert len(entries) > 12
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[: len(entry.read_bytes()) // 2])
    result = build_cached(essay, tmp_path / "again.mp3", cache)
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


def test_build_killed_halfway_then_run_again_is_correct(seed_mp3: Path, tmp_path: Path) -> None:
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
    build_cached(SEED, out, cache, "-q")
    # the seed built once for the run: the same bytes as a clean build (the first test)
    assert out.read_bytes() == seed_mp3.read_bytes()


def _request(essays: tuple[Path, ...], out: Path, **overrides: object) -> BuildRequest:
    return BuildRequest(essays, out, Overrides(engine="fake", jobs=1, **overrides))  # type: ignore[arg-type]


def test_a_registered_engine_builds_through_the_one_build_loop(
    fake_engine: Voice, essay: Path, tmp_path: Path
) -> None:
    """The registry is the extension point: a test engine builds a tagged, chaptered MP3
    in-process, through `build_all`, with workers that know the engine too."""
    reporter = Recorder()
    out = tmp_path / "rooms.mp3"
    build_all(_request((essay,), out), reporter)
    assert [r.output for r in reporter.results] == [out]
    assert [title for title, _, _ in chapters_of(out)] == ["The Kitchen", "The Study", "The Garden"]
    assert out.with_suffix(".vtt").is_file() and out.with_suffix(".chapters.json").is_file()


def test_the_rate_travels_from_the_overrides_to_the_engine(
    fake_engine: Voice, essay: Path, tmp_path: Path
) -> None:
    """The fake engine speaks twice as long at half the rate: the rate reaches it."""
    durations = {}
    for rate in (100, 200):
        reporter = Recorder()
        build_all(_request((essay,), tmp_path / f"{rate}.mp3", rate=rate), reporter)
        cues = [cue for chapter in reporter.results[0].timeline.cues for cue in chapter]
        durations[rate] = sum(cue.end_ms - cue.start_ms for cue in cues)  # speech, not pauses
    assert durations[100] > 1.8 * durations[200] > 0


def test_a_build_says_the_cpu_time_of_each_stage(
    fake_engine: Voice, essay: Path, tmp_path: Path, fresh_cache: Path
) -> None:
    """CPU seconds per stage (scripts/bench prints them): the workers' speaking counts in
    synthesize, ffmpeg's in assemble and encode; a rebuild from the cache speaks nothing."""
    reporter = Recorder()
    for name in ("cold", "again"):
        build_all(_request((essay,), tmp_path / f"{name}.mp3"), reporter)
    cold, again = reporter.results
    assert list(cold.stage_cpu) == list(cold.stage_seconds)
    assert cold.stage_cpu["synthesize"] > 0 and cold.stage_cpu["parse"] > 0
    # ffmpeg ran for a while: its CPU is counted, not only this process's
    assert cold.stage_cpu["assemble and encode"] > again.stage_cpu["assemble and encode"]
    assert again.stage_cpu["synthesize"] == 0.0


def test_an_edited_essay_splits_and_reads_again_only_what_changed(
    essay: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sentence ends and readings are remembered per piece of text: an edit splits its own
    paragraph again and reads its own sentence again, the memo keeps only the pieces of the
    last script, and the script is the one a reading from scratch makes."""
    import narrator.text.sentences
    from narrator.text.lexicon import Reading

    split: list[str] = []
    read: list[str] = []
    real_split, real_read = narrator.text.sentences.sentence_ends, Reading.__call__

    def counted_split(text: str) -> list[int]:
        split.append(text)
        return real_split(text)

    def counted_read(self: Reading, text: str) -> str:
        read.append(text)
        return real_read(self, text)

    monkeypatch.setattr(narrator.text.sentences, "sentence_ends", counted_split)
    monkeypatch.setattr(Reading, "__call__", counted_read)
    prepare(essay)
    assert len(split) == 3  # the three paragraphs (headings are not split)
    first_reads = len(read)
    split.clear()
    read.clear()
    essay.write_text(ROOMS.replace("Bees work the lavender.", "Bees work the thyme."), "utf-8")
    edited = prepare(essay)
    assert len(split) == 1 and "thyme" in split[0]
    assert read == ["Bees work the thyme."] and first_reads > 3
    memos = [
        json.loads(path.read_bytes()[36:])  # after the entry's magic and checksum
        for path in (fresh_cache / f"v{SCHEMA}" / MEMOS).rglob("*")
        if path.is_file()
    ]
    assert sorted(len(memo) for memo in memos) == [3, first_reads]  # no stale pieces kept
    monkeypatch.undo()
    assert edited.script == prepare(essay, use_cache=False).script


class _CtrlCOnceBuilt(Recorder):
    """Ctrl-C the moment an episode is complete, before the next one or the summary."""

    def built(self, result: BuildResult) -> None:
        super().built(result)
        raise KeyboardInterrupt


def test_an_interrupt_after_an_episode_is_written_says_it_is_complete(
    fake_engine: Voice, essay: Path, tmp_path: Path
) -> None:
    # it said "interrupted; nothing was written" of a complete, renamed episode
    second = tmp_path / "second.md"
    second.write_text(essay.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(Interrupted) as caught:
        build_all(_request((essay, second), tmp_path), _CtrlCOnceBuilt())
    first = tmp_path / f"{essay.stem}.mp3"
    assert str(caught.value) == f"interrupted; complete with their sidecars: {first}"
    assert first.is_file() and not (tmp_path / "second.mp3").exists()
