"""`narrator doctor`: which espeak-ng, ffmpeg and Piper narrator uses, and whether they work."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from narrator.errors import NarratorError
from narrator.model import Check

if TYPE_CHECKING:
    from narrator.speech.engine import Prosody
    from narrator.speech.espeak import Pyttsx3Engine


_PHRASE = "narrator is ready."


def _prosody() -> Prosody:
    """The default settings' prosody, as a build would speak."""
    from narrator.config import Settings
    from narrator.speech.engine import Prosody

    settings = Settings()
    return Prosody(settings.rate, settings.pitch, settings.volume)


def _other_speech() -> list[tuple[str, Any]]:
    from narrator.speech.engine import Prosody

    return [
        ("The river runs quietly past the old mill.", Prosody(120, 70, 1.0)),
        ("Zebra crossing at three, and more besides!", Prosody(175, 40, 1.0)),
        ("b", Prosody(140, 50, 1.4)),
    ]


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
    checks.append(_reproducible(engine, audio.pcm))
    return checks


def _reproducible(engine: Pyttsx3Engine, first: bytes) -> Check:
    """Whether the test phrase sounds the same after other speech: if not, builds of
    the same essay differ from run to run and from one --jobs to another."""

    for text, prosody in _other_speech():
        engine.synthesize(text, prosody)
    same = engine.synthesize(_PHRASE, _prosody()).pcm == first
    how = (
        "each utterance spoken in its own process"
        if engine.isolated
        else "espeak-ng's carried state undone in-process"
    )
    if same:
        return Check("reproducible", True, f"the same text gives the same audio ({how})")
    return Check(
        "reproducible",
        False,
        "the same text sounded different after other speech: builds will differ; "
        "unset espeak_library and NARRATOR_ESPEAK_LIBRARY to use the bundled library",
    )


def _ffmpeg_checks() -> list[Check]:
    from narrator.ffmpeg import ffmpeg_version, find_ffmpeg

    try:
        ffmpeg = find_ffmpeg()
        version = ffmpeg_version(ffmpeg)
    except NarratorError as exc:
        return [Check("ffmpeg", False, str(exc))]
    # the version without ffmpeg's copyright banner
    return [Check("ffmpeg", True, f"{version.split(' Copyright', 1)[0]} at {ffmpeg}")]


def _mp3_check() -> Check:
    """The in-process MP3 encoder (mp3encode) makes frames of a tenth of a second."""
    import io

    from narrator.audio.mp3encode import encode_mp3, encoder_version
    from narrator.model import AudioFormat
    from narrator.speech.engine import SAMPLE_RATE

    frames = io.BytesIO()
    try:
        encode_mp3([bytes(SAMPLE_RATE // 5)], SAMPLE_RATE, AudioFormat(), 0.0, frames)
    except (ImportError, RuntimeError) as exc:
        return Check("mp3 encoder", False, f"{exc}; rerun ./scripts/narrate to reinstall it")
    made = frames.getvalue()[:1] == b"\xff"
    return Check("mp3 encoder", made, encoder_version() if made else "it wrote no MP3 frames")


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
    return [*_engine_checks(), *_ffmpeg_checks(), _mp3_check(), *_piper_checks()]
