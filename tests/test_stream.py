"""Speed and bounded memory (issue 6): streaming to ffmpeg, the fast silence trim, encoding
overlapping synthesis, nothing left behind, and commands that import only what they need.

Times and memory are measured by scripts/bench, not here; these tests check the
behaviour that makes those figures possible."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SEED, ffmpeg_exe
from pydub import AudioSegment
from pydub.silence import detect_leading_silence

from narrator.audio.assemble import (
    ChapterSpec,
    ClipSource,
    EncodedChapter,
    chapter_pieces,
    chapter_spans,
    chapter_specs,
    encode_chapter,
)
from narrator.audio.produce import Speech, produce
from narrator.cache import AudioCache
from narrator.errors import DependencyError
from narrator.ffmpeg import convert, ffmpeg_version, stream
from narrator.model import (
    AudioFormat,
    Emphasis,
    Script,
    ScriptChapter,
    Segment,
    Utterance,
    utterance_of,
)
from narrator.speech.engine import SAMPLE_RATE, Prosody
from narrator.speech.espeak import EspeakConfig
from narrator.speech.pool import SEGMENTS, Voice, utterance_keys
from narrator.speech.trim import trim_silence


def _pydub_trim(pcm: bytes) -> bytes:
    """The trim as pydub itself measures it, one millisecond at a time."""
    audio = AudioSegment(pcm, sample_width=2, frame_rate=SAMPLE_RATE, channels=1)
    lead = detect_leading_silence(audio, -50.0, chunk_size=1)
    if lead >= len(audio):
        return b""
    tail = detect_leading_silence(audio.reverse(), -50.0, chunk_size=1)
    return audio[max(0, lead - 15) : min(len(audio), len(audio) - tail + 15)].raw_data


def _noise(rng: random.Random, samples: int, peak: int) -> bytes:
    return b"".join(
        rng.randint(-peak, peak).to_bytes(2, "little", signed=True) for _ in range(samples)
    )


def test_fast_trim_cuts_exactly_where_pydub_does() -> None:
    rng = random.Random(6)
    clips = [b"", b"\0\0" * 50, _noise(rng, 300, 30000)]
    for _ in range(60):
        quiet = _noise(rng, rng.randint(0, 3000), rng.choice([0, 40, 100, 110]))
        loud = _noise(rng, rng.randint(0, 4000), rng.choice([90, 200, 30000]))
        clips.append(quiet + loud + _noise(rng, rng.randint(0, 9000), 50))
    for pcm in clips:
        assert trim_silence(pcm, SAMPLE_RATE) == _pydub_trim(pcm)


def test_stream_feeds_chunks_as_convert_feeds_bytes() -> None:
    args = ["-f", "s16le", "-ar", "22050", "-ac", "1", "-i", "pipe:0", "-f", "s16le", "pipe:1"]
    chunks = [_noise(random.Random(n), 5000, 9000) for n in range(5)]
    assert stream(ffmpeg_exe(), args, iter(chunks)) == convert(ffmpeg_exe(), args, b"".join(chunks))


def test_an_error_while_feeding_reaches_the_caller() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"\0\0" * 1000
        raise DependencyError("a clip went missing")

    args = ["-f", "s16le", "-ar", "22050", "-ac", "1", "-i", "pipe:0", "-f", "null", "-"]
    with pytest.raises(DependencyError, match="a clip went missing"):
        stream(ffmpeg_exe(), args, chunks())


def test_ffmpeg_failing_midstream_is_a_dependency_error() -> None:
    with pytest.raises(DependencyError, match="ffmpeg failed"):
        stream(ffmpeg_exe(), ["-f", "nonsense-format", "-i", "pipe:0", "-"], iter([b"x" * 10]))


def _spec(clips: dict[Utterance, bytes]) -> ChapterSpec:
    parts = tuple((u, pause) for u, pause in zip(clips, (500, 0, 250, 2000), strict=True))
    return ChapterSpec("c", 700, parts, "key", intro=b"\1\0" * 300, outro=b"\2\0" * 200)


def test_chapter_pieces_are_what_pydub_joins_and_spans_find_each_clip() -> None:
    rng = random.Random(1)
    clips = {Utterance(f"u{n}", Emphasis.NONE): _noise(rng, 2000 + n, 999) for n in range(4)}
    spec = _spec(clips)

    def segment(pcm: bytes) -> AudioSegment:
        return AudioSegment(pcm, sample_width=2, frame_rate=SAMPLE_RATE, channels=1)

    silent = [AudioSegment.silent(ms, frame_rate=SAMPLE_RATE) for ms in (700, 500, 250, 2000)]
    expected = segment(spec.intro) + silent[0]
    for (utterance, _), pause in zip(
        spec.parts, (silent[1], None, silent[2], silent[3]), strict=True
    ):
        expected += segment(clips[utterance]) + (pause or AudioSegment.empty())
    expected += segment(spec.outro)
    joined = b"".join(chapter_pieces(spec, clips.__getitem__, SAMPLE_RATE))
    assert joined == expected.raw_data
    spans = chapter_spans(spec, [len(clips[u]) for u, _ in spec.parts], SAMPLE_RATE)
    delay = 1105 * 1000 / 44100
    for (utterance, _), (start, end) in zip(spec.parts, spans, strict=True):
        at = round((start - delay) * SAMPLE_RATE / 1000) * 2
        assert abs(joined.find(clips[utterance]) - at) <= 2 * SAMPLE_RATE // 1000  # 1 ms
        assert end - start == pytest.approx(len(clips[utterance]) / 2 / SAMPLE_RATE * 1000, abs=1)


def test_encoding_reads_each_clip_once_per_pass() -> None:
    clips = {
        Utterance(f"u{n}", Emphasis.NONE): _noise(random.Random(n), 4000, 8000) for n in range(4)
    }
    reads: list[Utterance] = []

    def clip_of(utterance: Utterance) -> bytes:
        reads.append(utterance)
        return clips[utterance]

    spec = _spec(clips)
    encoded = encode_chapter(spec, clip_of, SAMPLE_RATE, AudioFormat(), ffmpeg_exe())
    assert encoded.mp3[:2] == b"\xff\xfb" and len(encoded.spans_ms) == 4
    assert reads == [u for u, _ in spec.parts] * 2  # measure, then encode: never all at once


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
    script = _script(chapters=3, sentences=150)  # about 6 batches per chapter
    voice = Voice(EspeakConfig("gmw/en-us"), Prosody(155, 50, 1.0))
    keys = utterance_keys(script, voice)
    specs = chapter_specs(script, keys, AudioFormat(), ffmpeg_version(ffmpeg_exe()))
    store = AudioCache(tmp_path / "store")
    last = keys[utterance_of(script.chapters[-1].segments[-1])]
    seen: dict[str, bool] = {}

    def encode(spec: ChapterSpec, clip_of: ClipSource) -> EncodedChapter:
        # the real encoder, noting whether the last clip had been spoken when it began
        seen.setdefault(spec.title, store.has(SEGMENTS, last))
        return encode_chapter(spec, clip_of, SAMPLE_RATE, AudioFormat(), ffmpeg_exe())

    with contextlib.ExitStack() as stack:
        speech = Speech(voice, keys, store, 1, None, stack)
        produced = produce(specs, speech, None, tmp_path, encode, jobs=1)
    assert seen["Chapter 0"] is False  # chapter 1 was encoding before the last clip existed
    assert len(produced.chapters) == 3 and len(produced.synthesized) == 450


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


_LIGHT = """
import sys
from narrator.cli import main
sys.argv = ["narrator", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = ["pyttsx3", "pydub", "mutagen", "PIL", "multiprocessing", "qrcode", "pysbd"]
print("heavy:", *[name for name in heavy if name in sys.modules], file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["script", str(SEED)], ["script", "--help"]])
def test_commands_that_make_no_audio_import_no_audio_libraries(args: list[str]) -> None:
    # the script of the seed is cached first, as it is after any build
    subprocess.run([sys.executable, "-m", "narrator", "script", str(SEED)], capture_output=True)
    proc = subprocess.run(
        [sys.executable, "-c", _LIGHT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        check=True,
    )
    assert proc.stderr.strip().splitlines()[-1] == "heavy:", proc.stderr
