"""`narrator doctor`: which espeak-ng and ffmpeg narrator uses, and whether they work."""

from __future__ import annotations

from narrator.errors import NarratorError
from narrator.model import Check


def _engine_checks() -> list[Check]:
    from narrator.config import DEFAULT_VOICE
    from narrator.engine import EngineConfig, Prosody, Pyttsx3Engine

    try:
        engine = Pyttsx3Engine(EngineConfig(voice=DEFAULT_VOICE))
    except NarratorError as exc:
        return [Check("espeak-ng", False, str(exc))]
    checks = [
        Check(
            "espeak-ng",
            True,
            f"{engine.espeak_version} ({engine.location.origin}) library "
            f"{engine.location.library}, data {engine.location.data or '(compiled in)'}",
        ),
        Check("pyttsx3", True, engine.version),
    ]
    audio = engine.synthesize("narrator is ready.", Prosody())
    seconds = len(audio.pcm) / 2 / audio.sample_rate
    checks.append(Check("test phrase", seconds > 0.3, f"{seconds:.2f} s of speech"))
    return checks


def _ffmpeg_checks() -> list[Check]:
    from narrator.ffmpeg import ffmpeg_version, find_ffmpeg, run_ffmpeg

    try:
        ffmpeg = find_ffmpeg()
        version = ffmpeg_version(ffmpeg)
        encoders = run_ffmpeg(ffmpeg, ["-encoders"]).stdout
    except NarratorError as exc:
        return [Check("ffmpeg", False, str(exc))]
    return [
        Check("ffmpeg", True, f"{version} at {ffmpeg}"),
        Check("mp3 encoder", "libmp3lame" in encoders, "libmp3lame"),
    ]


def run_checks() -> list[Check]:
    return [*_engine_checks(), *_ffmpeg_checks()]
