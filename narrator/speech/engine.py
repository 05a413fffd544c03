"""The interface every speech engine implements, and the values it takes and gives.

An engine turns text and prosody into mono 16-bit PCM at `SAMPLE_RATE`; the rest of
narrator sees only this module. The registry (registry.py) knows which engines exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

SAMPLE_RATE = 22050  # the pipeline's working rate: pyttsx3's espeak driver writes WAV at it


@dataclass(frozen=True)
class Prosody:
    """How to say a text: rate in words per minute, pitch 0-100, volume 0.0-2.0 (1 = normal)."""

    rate: int = 175
    pitch: int = 50
    volume: float = 1.0


@dataclass(frozen=True)
class Audio:
    """Mono signed 16-bit little-endian PCM."""

    pcm: bytes
    sample_rate: int


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None
    engine: str = "espeak"  # the `engine` setting that speaks with this voice


@dataclass(frozen=True)
class EngineConfig:
    """Everything a worker process needs to build its own engine (picklable)."""

    voice: str
    espeak_library: str | None = None
    espeak_data: str | None = None
    engine: str = "espeak"  # or "piper" (engines.py picks the class)


class SpeechEngine(Protocol):
    """The interface another offline engine would implement."""

    name: str
    version: str

    def synthesize(self, text: str, prosody: Prosody) -> Audio: ...

    def voices(self) -> list[VoiceInfo]: ...
