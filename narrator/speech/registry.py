"""Choose the speech engine named by the `engine` setting: espeak-ng (the default) or Piper.

Only this module knows which engines exist; synthesis workers, `say`, `voices` and the
cache keys go through it. Piper is imported only when it is asked for, so narrator works
without the piper extra.
"""

from __future__ import annotations

from narrator.errors import SettingsError
from narrator.speech.engine import EngineConfig, SpeechEngine, VoiceInfo
from narrator.speech.espeak import Pyttsx3Engine
from narrator.speech.espeak import engine_identity as espeak_identity

ENGINES = ("espeak", "piper")  # the first is the default (config.Settings.engine)


def _check(name: str) -> None:
    if name not in ENGINES:
        raise SettingsError(f"unknown engine {name!r}", f"use one of {', '.join(ENGINES)}")


def make_engine(config: EngineConfig) -> SpeechEngine:
    """A ready engine for `config`, made in the calling process (one per process)."""
    _check(config.engine)
    if config.engine == "piper":
        from narrator.speech.piper import PiperEngine

        return PiperEngine(config)
    return Pyttsx3Engine(config)


def engine_identity(config: EngineConfig) -> dict[str, str]:
    """What, besides text and prosody, decides the engine's sound (part of every clip's
    cache key); read without starting an engine. Fails early, with what to install, when
    the engine or its voice is missing."""
    _check(config.engine)
    if config.engine == "piper":
        from narrator.speech.piper import piper_identity

        return piper_identity(config)
    return espeak_identity(config)


def all_voices(espeak_voice: str) -> list[VoiceInfo]:
    """Every engine's voices: espeak-ng's (from an engine speaking `espeak_voice`), then
    the installed Piper voices."""
    from narrator.speech.piper import piper_voices

    return [*Pyttsx3Engine(EngineConfig(espeak_voice)).voices(), *piper_voices()]
