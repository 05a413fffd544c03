"""The producer: chapters are encoded while later ones are still spoken, and a build
without the cache leaves nothing behind."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from helpers import ffmpeg_exe

from narrator.audio.assemble import (
    ChapterSpec,
    ClipSource,
    SpooledChapter,
    chapter_specs,
    encode_chapter,
)
from narrator.audio.produce import Speech, produce
from narrator.cache import AudioCache
from narrator.ffmpeg import ffmpeg_version
from narrator.model import (
    AudioFormat,
    Script,
    ScriptChapter,
    Segment,
    Utterance,
    utterance_of,
)
from narrator.speech.engine import LEVEL_REFERENCE, SAMPLE_RATE, Prosody
from narrator.speech.espeak import EspeakConfig
from narrator.speech.pool import SEGMENTS, Voice, Workers, utterance_keys


def _script(chapters: int, sentences: int) -> Script:
    return Script(
        "t",
        None,
        tuple(
            ScriptChapter(
                f"Chapter {c}",
                tuple(
                    Segment(
                        f"Chapter {c}, sentence {s}, says something long enough to matter.", 300
                    )
                    for s in range(sentences)
                ),
            )
            for c in range(chapters)
        ),
    )


def test_a_chapter_is_encoded_while_later_chapters_are_still_being_spoken(tmp_path: Path) -> None:
    script = _script(chapters=3, sentences=50)  # 2 batches per chapter (pool._BATCH_CHARS)
    voice = Voice(EspeakConfig("gmw/en-us"), Prosody(155, 50, 1.0))
    keys = utterance_keys(script, voice)
    specs = chapter_specs(script, keys, AudioFormat(), ffmpeg_version(ffmpeg_exe()))
    store = AudioCache(tmp_path / "store")
    last = keys[utterance_of(script.chapters[-1].segments[-1])]
    seen: dict[str, bool] = {}

    def encode(spec: ChapterSpec, clip_of: ClipSource, out: Path) -> SpooledChapter:
        # the real encoder, noting whether the last clip had been spoken when it began
        seen.setdefault(spec.title, store.has(SEGMENTS, last))
        fmt = AudioFormat()
        return encode_chapter(spec, clip_of, SAMPLE_RATE, fmt, ffmpeg_exe(), out, lambda _: -19.0)

    with contextlib.ExitStack() as stack:
        speech = Speech(voice, keys, store, Workers(1, stack), stack)
        produced = produce(specs, speech, None, tmp_path, encode, jobs=1)
    assert seen["Chapter 0"] is False  # chapter 1 was encoding before the last clip existed
    assert len(produced.chapters) == 3
    spoken = {utterance_of(s) for c in script.chapters for s in c.segments}
    assert produced.synthesized == {*spoken, LEVEL_REFERENCE}  # and the voice's level, once


def test_no_cache_build_leaves_no_scratch_files(narrate, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    essay = tmp_path / "e.md"
    essay.write_text("# T\n\nOne sentence. Two sentences.\n\n## Next\n\nThree.\n", "utf-8")
    result = narrate("build", essay, "-o", tmp_path / "e.mp3", "--no-cache", TMPDIR=str(scratch))
    assert result.code == 0, result.stderr
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "tmp") == [
        "e.chapters.json", "e.md", "e.mp3", "e.png", "e.vtt",
    ]  # fmt: skip


def test_an_interrupt_stops_a_running_encode_at_its_next_clip(tmp_path: Path) -> None:
    """Ctrl-C while a block is encoding (in this process) ends the build at once: the
    encode stops at its next clip instead of finishing its block."""
    script = _script(chapters=2, sentences=40)  # two blocks: the second is spoken meanwhile
    voice = Voice(EspeakConfig("gmw/en-us"), Prosody(155, 50, 1.0))
    keys = utterance_keys(script, voice)
    specs = chapter_specs(script, keys, AudioFormat(), ffmpeg_version(ffmpeg_exe()))
    store = AudioCache(tmp_path / "store")
    fetched: list[str] = []
    interrupted: list[float] = []

    def encode(spec: ChapterSpec, clip_of: ClipSource, out: Path) -> SpooledChapter:
        def slowly(spoken: Utterance) -> bytes:  # a clip a tenth of a second: a long block
            fetched.append(spoken.text)
            time.sleep(0.1)
            return clip_of(spoken)

        return encode_chapter(
            spec, slowly, SAMPLE_RATE, AudioFormat(), ffmpeg_exe(), out, lambda _: -19.0
        )

    def progress(stage: str, done: int, total: int) -> None:
        if fetched and not interrupted:  # as Ctrl-C would, in the main thread
            interrupted.append(time.monotonic())
            raise KeyboardInterrupt

    with contextlib.ExitStack() as stack:
        speech = Speech(voice, keys, store, Workers(1, stack), stack)
        with pytest.raises(KeyboardInterrupt):
            produce(specs, speech, None, tmp_path, encode, jobs=1, progress=progress)
        took = time.monotonic() - interrupted[0]
    assert took < 0.5, f"the encode went on for {took:.1f} s"
    assert 0 < len(fetched) < 10  # of the block's 40 clips
