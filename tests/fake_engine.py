"""A tiny deterministic speech engine, registered through the engine registry.

Pipeline tests that need no real voice use it: it speaks in microseconds, so they run
fast, beside the tests that use the real engines. Its "speech" is a tone whose pitch and
length follow the text and prosody, so different text still gives different audio.
"""

from __future__ import annotations

import math
import os
import struct

from narrator.speech import registry
from narrator.speech.engine import SAMPLE_RATE, Audio, EngineConfig, Prosody, VoiceInfo

NAME = "fake"
VERSION_ENV = "NARRATOR_FAKE_ENGINE_VERSION"  # a test changes it to change the identity
ENTRY = registry.EngineEntry(NAME, "fake-voice", 155, __name__, "a test engine")


class FakeEngine:
    name = NAME
    version = "fake 1"

    def __init__(self, config: EngineConfig) -> None:
        self.voice = config.voice

    def synthesize(self, text: str, prosody: Prosody) -> Audio:
        seconds = 0.02 * len(text) * 155 / prosody.rate
        hertz = 120 + (sum(map(ord, text)) % 200) + prosody.pitch
        amplitude = 8000 * min(prosody.volume, 2.0)
        count = int(seconds * SAMPLE_RATE)
        samples = (
            round(amplitude * math.sin(2 * math.pi * hertz * i / SAMPLE_RATE)) for i in range(count)
        )
        return Audio(struct.pack(f"<{count}h", *samples), SAMPLE_RATE)

    def voices(self) -> list[VoiceInfo]:
        return voices()


def make(config: EngineConfig) -> FakeEngine:
    return FakeEngine(config)


def identity(config: EngineConfig) -> dict[str, str]:
    return {"engine": NAME, "voice": config.voice, "version": os.environ.get(VERSION_ENV, "1")}


def voices() -> list[VoiceInfo]:
    return [VoiceInfo("fake-voice", "Fake", ("en",), None, NAME)]
