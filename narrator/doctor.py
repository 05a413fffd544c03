"""`narrator doctor`: which espeak-ng, ffmpeg and Piper narrator uses, and whether they work."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from narrator.errors import NarratorError
from narrator.model import Check

if TYPE_CHECKING:
    from narrator.speech.engine import Prosody


_PHRASE = "narrator is ready."


def _prosody() -> Prosody:
    """The default settings' prosody, as a build would speak."""
    from narrator.config import Settings
    from narrator.speech.engine import Prosody

    settings = Settings()
    return Prosody(settings.rate, settings.pitch, settings.volume)


def _engine_checks() -> list[Check]:
    from narrator.speech.espeak import EspeakConfig, Pyttsx3Engine
    from narrator.speech.registry import entry

    try:
        engine = Pyttsx3Engine(EspeakConfig(entry("espeak").default_voice))
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
    audio = engine.synthesize(_PHRASE, _prosody())
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


def _piper_phrase_seconds(voice: str) -> float:
    """Seconds of speech Piper gives for a test phrase (run in a process of its own)."""
    from narrator.speech.engine import EngineConfig
    from narrator.speech.piper import PiperEngine

    audio = PiperEngine(EngineConfig(voice, "piper")).synthesize(_PHRASE, _prosody())
    return len(audio.pcm) / 2 / audio.sample_rate


def _piper_checks() -> list[Check]:
    """The optional Piper engine: reported, never a failure when it is not installed."""
    from narrator.speech.piper import INSTALL_HINT, installed_voices, require_piper
    from narrator.speech.registry import entry

    try:
        version = require_piper()
    except NarratorError:
        return [Check("piper", True, f"not installed (optional; {INSTALL_HINT})")]
    voices = installed_voices()
    checks = [
        Check("piper", True, f"piper-tts {version}"),
        Check(
            "piper voices",
            True,
            ", ".join(f"{v.name} ({v.package})" for v in voices)
            or f"none installed (a .onnx path still works; {INSTALL_HINT} for the default)",
        ),
    ]
    if not voices:
        return checks
    names = [v.name for v in voices]
    default = entry("piper").default_voice
    name = default if default in names else names[0]
    # Piper's phonemizer and pyttsx3's espeak-ng clash in one process (a segfault): the
    # test phrase is spoken in a fresh one, as build's workers are.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            seconds = pool.submit(_piper_phrase_seconds, name).result()
        except NarratorError as exc:
            return [*checks, Check("piper test phrase", False, str(exc))]
    detail = f"{seconds:.2f} s of speech ({name})"
    return [*checks, Check("piper test phrase", seconds > 0.3, detail)]


def run_checks() -> list[Check]:
    return [*_engine_checks(), *_ffmpeg_checks(), *_piper_checks()]
