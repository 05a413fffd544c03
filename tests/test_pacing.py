"""Pacing as a listener hears it, measured on the rendered seed essay with silence
detection: pauses between sentences, paragraphs and chapters, and the speaking rate."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest
from helpers import SEED, decode
from pydub import AudioSegment
from pydub.silence import detect_silence

RATE = 22050
# Scripted clause pauses (250 ms) are heard as 200-420 ms once espeak-ng's own edges are
# added; every longer scripted pause (450 ms and up) is heard above this.
MIN_PAUSE_MS = 460


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("pacing")
    out = folder / "seed.mp3"
    for args in (["build", SEED, "-o", out, "-q"], ["script", SEED, "--format", "json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "narrator", *map(str, args)],
            capture_output=True, text=True, check=True, cwd=folder,
        )  # fmt: skip
    script = json.loads(proc.stdout)
    audio = AudioSegment(decode(out, RATE), sample_width=2, frame_rate=RATE, channels=1)
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
