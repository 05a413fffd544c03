"""The interface every speech engine implements, and the values it takes and gives.

An engine turns text and prosody into mono 16-bit PCM at `SAMPLE_RATE`; the rest of
narrator sees only this module. The registry (registry.py) knows which engines exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from narrator.model import Emphasis, Utterance

SAMPLE_RATE = 22050  # the pipeline's working rate: pyttsx3's espeak driver writes WAV at it

# What every voice also speaks, to measure its level once (audio/assemble.VoiceLevel):
# ordinary prose of about twenty seconds, sentences of several lengths, no emphasis.
LEVEL_REFERENCE = Utterance(
    "The morning was cool and clear, and the road ran down between the fields to the river."
    " Nobody was about yet. A farmer had left his gate open, and two horses stood in the"
    " lane, looking at the water as if they had never seen it before. I walked on, past the"
    " mill and the old stone bridge, and thought about the letter I had to write. It would"
    " not be a long one. Still, some things are hard to say in a few words, and harder to"
    " say well.",
    Emphasis.NONE,
)


@dataclass(frozen=True)
class Prosody:
    """How to say a text: rate in words per minute, pitch 0-100, volume 0.0-2.0 (1 = normal).

    No defaults: the rate's default is each engine's (registry.py), the rest the settings'."""

    rate: int
    pitch: int
    volume: float


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
    engine: str  # the `engine` setting that speaks with this voice


@dataclass(frozen=True)
class EngineConfig:
    """Everything a worker process needs to build its own engine (picklable). An engine
    with settings of its own subclasses it (espeak.EspeakConfig)."""

    voice: str
    engine: str  # the registry's name for the engine (registry.py)


class SpeechEngine(Protocol):
    """The interface another offline engine would implement."""

    name: str
    version: str

    def synthesize(self, text: str, prosody: Prosody) -> Audio: ...

    def voices(self) -> list[VoiceInfo]: ...
