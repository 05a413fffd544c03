"""The assembled episode as a listener hears it: chapters open in a pause, natural pauses and
pace, loudness for phones, intro and outro; and how chapters are streamed to the encoder."""

from __future__ import annotations

import array
import itertools
import json
import math
import random
import re
import statistics
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import SEED, build, chapters_of, decode, ffmpeg_exe, loudness
from mutagen.mp3 import MP3
from pydub import AudioSegment
from pydub.silence import detect_silence

from narrator.audio.assemble import (
    LEVELS,
    ChapterSpec,
    VoiceLevel,
    cached_chapter,
    chapter_pieces,
    chapter_spans,
    chapter_specs,
    encode_chapter,
    gated_level,
    measure_loudness,
)
from narrator.audio.mp3frames import samples_per_frame
from narrator.cache import content_key
from narrator.model import (
    AudioFormat,
    Emphasis,
    Script,
    ScriptChapter,
    Segment,
    Utterance,
    utterance_of,
)
from narrator.pipeline import open_cache, plan_episode, prepare
from narrator.speech.engine import LEVEL_REFERENCE, SAMPLE_RATE
from narrator.speech.pool import SEGMENTS


def test_every_later_chapter_starts_inside_the_silence_before_its_heading(
    seed_mp3: Path,
) -> None:
    rate = 22050
    samples = array.array("h", decode(seed_mp3, rate))
    for title, start, _ in chapters_of(seed_mp3)[1:]:
        at = start * rate // 1000
        window = samples[at - rate // 10 : at + rate // 10]  # 100 ms either side
        assert max(abs(s) for s in window) < 300, title


def test_seed_pace_is_a_natural_reading_speed(seed_mp3: Path) -> None:
    words = len(SEED.read_text(encoding="utf-8").split())
    minutes = MP3(seed_mp3).info.length / 60
    assert 130 <= words / minutes <= 170


def test_seed_is_levelled_for_phones(seed_mp3: Path) -> None:
    integrated, true_peak = loudness(seed_mp3)
    assert -20 <= integrated <= -18  # -19 LUFS for mono
    assert true_peak <= -1.0


def test_intro_and_outro_frame_the_speech(tmp_path: Path) -> None:
    from helpers import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
         "-y", str(tmp_path / "jingle.wav")],
        check=True,
    )  # fmt: skip
    essay = tmp_path / "essay.md"
    essay.write_text("One sentence to hear.\n", encoding="utf-8")
    plain = tmp_path / "plain.mp3"
    build(plain, essay)
    (tmp_path / "narrator.toml").write_text(
        'intro = "jingle.wav"\noutro = "jingle.wav"\n', encoding="utf-8"
    )
    framed = tmp_path / "framed.mp3"
    build(framed, essay)
    added = MP3(framed).info.length - MP3(plain).info.length
    assert 5.5 < added < 6.5  # two three-second jingles
    cue = re.search(
        r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) -->", framed.with_suffix(".vtt").read_text(), re.M
    )
    assert int(cue[3]) == 3  # the speech starts after the three-second intro
    (tmp_path / "narrator.toml").write_text('intro = "missing.wav"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", "build", str(essay), "-o", str(framed)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def _noise(rng: random.Random, samples: int, peak: int) -> bytes:
    return b"".join(
        rng.randint(-peak, peak).to_bytes(2, "little", signed=True) for _ in range(samples)
    )


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


@pytest.mark.parametrize("framed", [False, True])
def test_a_block_is_levelled_by_its_own_speech_or_a_jingle_by_ffmpeg(
    tmp_path: Path, framed: bool
) -> None:
    clips = {
        Utterance(f"u{n}", Emphasis.NONE): _noise(random.Random(n), 4000, 8000) for n in range(4)
    }
    reads: list[Utterance] = []
    heard: list[bytes] = []

    def clip_of(utterance: Utterance) -> bytes:
        reads.append(utterance)
        return clips[utterance]

    def voice_loudness(pcm: Iterable[bytes]) -> float:
        heard.append(b"".join(pcm))
        return -22.0

    spec = _spec(clips) if framed else replace(_spec(clips), intro=b"", outro=b"")
    out = tmp_path / "chapter.mp3"
    encoded = encode_chapter(
        spec, clip_of, SAMPLE_RATE, AudioFormat(), ffmpeg_exe(), out, voice_loudness
    )
    assert out.read_bytes()[:2] == b"\xff\xfb" and len(encoded.spans_ms) == 4
    assert encoded.frames == pytest.approx(len(decode(out)) / 2 / 576, abs=1)  # all counted
    # a clip at a time, never all at once: measured (by the voice, or for a jingle by
    # ffmpeg), then encoded
    assert reads == [u for u, _ in spec.parts] * 2
    own = b"".join(chapter_pieces(spec, clips.__getitem__, SAMPLE_RATE))
    assert heard == ([] if framed else [own])


def test_the_gated_level_is_bs1770s_gating_without_its_filter() -> None:
    tone = array.array("h", (round(10000 * math.sin(i / 7)) for i in range(SAMPLE_RATE * 3)))
    level = gated_level([tone.tobytes()], SAMPLE_RATE)
    assert level == pytest.approx(20 * math.log10(10000 / 32768) - 3.01, abs=0.05)
    pauses = bytes(2 * SAMPLE_RATE * 5)  # silence is gated out, however long
    halves = [tone.tobytes()[: SAMPLE_RATE * 3], pauses, tone.tobytes()[SAMPLE_RATE * 3 :]]
    # only the windows that straddle an edge count a little of the pause (ungated: -4.3 dB)
    assert gated_level(halves, SAMPLE_RATE) == pytest.approx(level, abs=0.6)
    assert gated_level([pauses], SAMPLE_RATE) is None


RATE = 22050


MIN_PAUSE_MS = 460


@pytest.fixture(scope="module")
def measured(seed_mp3: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", "script", str(SEED), "--format", "json"],
        capture_output=True, text=True, check=True, cwd=tmp_path_factory.mktemp("pacing"),
    )  # fmt: skip
    script = json.loads(proc.stdout)
    audio = AudioSegment(decode(seed_mp3, RATE), sample_width=2, frame_rate=RATE, channels=1)
    silences = detect_silence(audio, MIN_PAUSE_MS, silence_thresh=-45, seek_step=5)
    return {"script": script, "silences": silences, "duration_ms": len(audio)}


def kinds(script: dict) -> list[str]:
    """The kind of every scripted pause of 450 ms or more, in order."""
    found = []
    chapters = script["chapters"]
    for number, chapter in enumerate(chapters):
        segments = chapter["segments"]
        for index, segment in enumerate(segments):
            if segment["pause_ms"] < 450:
                continue
            if index == len(segments) - 1:
                found.append("chapter" if number < len(chapters) - 1 else "end")
            elif segment["style"] == "heading":
                found.append("heading")
            elif segment["pause_ms"] >= 900:
                found.append("paragraph")
            elif segment["pause_ms"] == 500:
                found.append("sentence")
            else:
                found.append("other")
    return found


def pauses_by_kind(measured: dict) -> dict[str, list[float]]:
    silences = measured["silences"][1:] if measured["silences"][0][0] == 0 else measured["silences"]
    expected = kinds(measured["script"])
    assert len(silences) == len(expected), "every scripted pause is heard, and nothing else"
    grouped: dict[str, list[float]] = {}
    for kind, (start, end) in zip(expected, silences, strict=True):
        grouped.setdefault(kind, []).append((end - start) / 1000)
    return grouped


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [("sentence", 0.4, 0.8), ("paragraph", 0.8, 1.5), ("chapter", 1.5, 3.0)],
)
def test_median_pauses_are_natural(measured: dict, kind: str, low: float, high: float) -> None:
    median = statistics.median(pauses_by_kind(measured)[kind])
    assert low <= median <= high, median


def test_speech_without_pauses_is_at_audiobook_pace(measured: dict) -> None:
    silent_ms = sum(end - start for start, end in measured["silences"])
    speaking_minutes = (measured["duration_ms"] - silent_ms) / 60000
    words = sum(
        len(segment["text"].split())
        for chapter in measured["script"]["chapters"]
        for segment in chapter["segments"]
    )
    assert 145 <= words / speaking_minutes <= 175, words / speaking_minutes


def _paragraphs(edited: int | None = None, sentences: tuple[int, ...] = (1,)) -> Script:
    """One chapter of 60 paragraphs of three pieces, a clause then two sentences (those
    `sentences` of paragraph `edited` reworded)."""
    edits = {(edited, s) for s in sentences}
    return Script(
        "t",
        None,
        (
            ScriptChapter(
                "One",
                tuple(
                    Segment(
                        f"Paragraph {p}{' now' if (p, s) in edits else ''}, sentence {s}.",
                        (250, 500, 900)[s],
                    )
                    for p in range(60)
                    for s in range(3)
                ),
            ),
        ),
    )


def _keys(script: Script, voice: str = "voice") -> dict[Utterance, str]:
    """Keys as utterance_keys makes them: each segment's and the voice's level reference."""
    keys = {utterance_of(s): content_key(s.text) for c in script.chapters for s in c.segments}
    return {**keys, LEVEL_REFERENCE: content_key(voice)}


def _block_keys(script: Script, voice: str = "voice") -> list[str]:
    specs = chapter_specs(script, _keys(script, voice), AudioFormat(), "encoder")
    return [spec.key for spec in specs]


def test_a_chapter_is_encoded_in_blocks_and_an_edit_changes_only_its_own() -> None:
    script = _paragraphs()
    specs = chapter_specs(script, _keys(script), AudioFormat(), "encoder")
    assert 12 <= len(specs) <= 90  # cut at about one sentence end in three
    for block, following in itertools.pairwise(specs):  # cut in the middle of a sentence pause
        pause = block.parts[-1][1] + following.lead_ms
        assert pause in (500, 900) and following.lead_ms == pause // 2
    before = set(_block_keys(script))
    for edited in (0, 29, 59):  # a clause: only its block changes
        after = set(_block_keys(_paragraphs(edited, (0,))))
        assert len(after - before) == len(before - after) == 1, edited
    for edited in range(60):  # a sentence: a cut after it may come or go
        for sentence in (1, 2):
            after = set(_block_keys(_paragraphs(edited, (sentence,))))
            assert 1 <= len(after - before) <= 2 and 1 <= len(before - after) <= 2, edited
    # every block is levelled by the voice's gain: another level re-encodes them all
    assert not set(_block_keys(script, "a louder voice")) & before


def _silent_ms(samples: array.array[int], at: int, rate: int) -> float:
    """How long the stretch below -50 dBFS around sample `at` lasts, in milliseconds."""
    quiet = 32768 * 10 ** (-50 / 20)
    start, end = at, at
    while start > 0 and abs(samples[start - 1]) < quiet:
        start -= 1
    while end < len(samples) and abs(samples[end]) < quiet:
        end += 1
    return (end - start) * 1000 / rate


def test_every_block_join_falls_in_a_pause_that_keeps_its_length(
    seed_mp3: Path, tmp_path: Path
) -> None:
    """Decoded, the audio within 10 ms of each join is below -50 dBFS, and the pause there
    lasts as long (within 30 ms) as in the audio the blocks were made from; every chapter
    is on target."""
    plan = plan_episode(prepare(SEED), tmp_path / "seed.mp3")
    cache = open_cache(plan.prepared.settings)  # the run's cache, which built seed_mp3
    blocks = [cached_chapter(spec, cache, tmp_path / str(i)) for i, spec in enumerate(plan.specs)]
    assert len(blocks) > len(plan.prepared.script.chapters)  # the seed is cut into blocks
    rate = AudioFormat().sample_rate
    samples = array.array("h", decode(seed_mp3, rate))

    def clip(utterance: Utterance) -> bytes:
        found = cache.get(SEGMENTS, plan.keys[utterance])
        assert found is not None
        return found

    at = 0
    for number, block in enumerate(blocks[:-1]):
        assert block is not None
        at += block.frames * samples_per_frame(rate)
        near = samples[at - rate // 100 : at + rate // 100]  # 10 ms either side
        assert 20 * math.log10(max(map(abs, near)) / 32768 or 1e-9) < -50
        before, after = (
            b"".join(chapter_pieces(spec, clip, SAMPLE_RATE))
            for spec in plan.specs[number : number + 2]
        )
        source = array.array("h", before + after)
        meant = _silent_ms(source, len(before) // 2, SAMPLE_RATE)
        assert abs(_silent_ms(samples, at, rate) - meant) <= 30, number
    voice = VoiceLevel(clip, SAMPLE_RATE, ffmpeg_exe())
    cache.put(LEVELS, "level key", b"not a number")  # unreadable: measured again, and kept
    VoiceLevel(clip, SAMPLE_RATE, ffmpeg_exe(), cache, "level key").loudness([b""])
    remembered = VoiceLevel(clip, SAMPLE_RATE, str(tmp_path / "no-ffmpeg"), cache, "level key")
    for spec in plan.specs:  # each block's loudness is estimated as ffmpeg measures it
        pieces = list(chapter_pieces(spec, clip, SAMPLE_RATE))
        measured = measure_loudness(ffmpeg_exe(), pieces, SAMPLE_RATE)
        assert voice.loudness(pieces) == pytest.approx(measured, abs=0.6)
        # the reference's loudness, as kept in the cache, is ffmpeg's: no ffmpeg needed
        assert remembered.loudness(pieces) == voice.loudness(pieces)
    chapters = chapters_of(seed_mp3)
    for _, start, end in chapters:
        cut = tmp_path / "chapter.wav"
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{start / 1000}", "-to", f"{end / 1000}",
             "-i", str(seed_mp3), str(cut)],
            check=True,
        )  # fmt: skip
        integrated, _ = loudness(cut)
        assert -20 <= integrated <= -18  # -19 LUFS +- 1, each chapter on its own
