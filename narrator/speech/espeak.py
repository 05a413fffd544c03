"""espeak-ng through pyttsx3: the only module that touches pyttsx3.

The rest of narrator sees `SpeechEngine` (engine.py): text and prosody in, mono 16-bit PCM
out. This module works around pyttsx3 2.99's defects on Linux (measured in the project's shared
REFERENCE.md):

- `runAndWait()` returns before synthesis ends, and in the driver's asynchronous mode the
  end event can overtake the last audio: we start espeak-ng in synchronous mode
  (`_initialize_synchronous`), then still wait for `finished-utterance` and until espeak
  is idle before reading the audio or queueing the next utterance.
- `Synth` gives espeak a buffer of `len(text) * 10` bytes (a crash near 18,000 characters)
  and the driver appends audio quadratically: we never send more than
  `MAX_ENGINE_CHARS` characters in one utterance, splitting longer text at spaces.
- The driver prints "Audio saved to ..." on stdout: we swallow it.
- Its loop sleeps 10 ms after every utterance, although in synchronous mode the utterance
  is done before the first sleep: five times espeak-ng's own synthesis time for a
  sentence. We skip that sleep once the loop has ended (`_skip_finished_sleep`).
- espeak-ng carries state from one utterance to the next in static variables, so the
  same sentence came out differently depending on history. With the bundled 1.52 that
  state is pitch flutter and one more bit: we speak through a flutter-free variant of the
  voice (espeak_library.make_steady_overlay) and undo the bit (`_calibrate`). Other
  versions keep more (Debian's 1.51 also a glottal-cycle count that decides when the
  voice is roughened, with other sentences in two to four forms), so with any library
  but the bundled one each utterance is spoken in a forked copy of the process taken
  right after start-up (`_in_own_process`): it starts from the same state every time,
  whatever the library keeps. Either way every utterance depends only on its text,
  prosody and voice.
- The synthesis callback is process-wide and the engine hangs after `fork`: one engine per
  process, created in that process (synthesize.py uses a spawn pool for that reason).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from narrator.atomic import scratch_dir
from narrator.errors import DependencyError, SettingsError
from narrator.speech.engine import SAMPLE_RATE, Audio, EngineConfig, Prosody, VoiceInfo
from narrator.speech.espeak_library import (
    EspeakLocation,
    espeak_version,
    library_version,
    load_espeak,
    locate_espeak,
    make_steady_overlay,
    steady_voice,
    system_data_dir,
)

log = logging.getLogger(__name__)
ENGINE_REVISION = 1  # bump when a change here changes the audio for the same input
MAX_ENGINE_CHARS = 500
_PROBE = "a"  # an utterance that reveals espeak-ng's carried state without changing it
_FLIPPERS = ("b", "a.", "one", "Hello.")  # short utterances that may flip that state
_FINISH_TIMEOUT_S = 60.0
# the prosody of the state probe and flippers: fixed, since the calibration depends on it
_STATE_PROSODY = Prosody(rate=175, pitch=50, volume=1.0)


@dataclass(frozen=True)
class EspeakConfig(EngineConfig):
    """espeak-ng's engine settings: the voice, and where its library and data are (None:
    the search in espeak_library.py)."""

    engine: str = "espeak"
    library: str | None = None
    data: str | None = None


def _location(config: EngineConfig) -> EspeakLocation:
    """Where espeak-ng is for `config`: its own paths, or the search's for a plain config."""
    if isinstance(config, EspeakConfig):
        return locate_espeak(config.library, config.data)
    return locate_espeak()


def identity(config: EngineConfig) -> dict[str, str]:
    """What, besides text and prosody, decides this engine's sound (for cache keys).

    Read without starting an engine, so the parent process stays free of one.
    """
    from importlib.metadata import version

    location = _location(config)
    log.info(
        "espeak-ng library: %s (%s), data %s", location.library, location.origin, location.data
    )
    return {
        "engine": Pyttsx3Engine.name,
        "revision": str(ENGINE_REVISION),
        # without a data folder to build it in, there is no flutter-free voice
        "steady": str((location.data or system_data_dir()) is not None),
        "pyttsx3": version("pyttsx3"),
        "espeak-ng": library_version(location),
        "espeak-ng origin": location.origin,
        "voice": config.voice,
        "sample_rate": str(SAMPLE_RATE),
    }


def split_for_engine(text: str, limit: int = MAX_ENGINE_CHARS) -> list[str]:
    """Cut text into pieces of at most `limit` characters, at spaces where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _initialize_synchronous(_espeak: Any, driver: Any) -> None:
    """Initialise espeak-ng in synchronous mode before pyttsx3's driver does.

    The driver initialises AUDIO_OUTPUT_RETRIEVAL mode, where synthesis and its events run
    on espeak's own threads: `runAndWait` returns early, and the end-of-message event can
    overtake the last audio, which the driver then drops (a clip came out cut, or empty,
    from one run to the next). In synchronous mode `Synth` returns only after every
    callback ran. The driver initialises espeak once per process and skips it when
    `_moduleInitialized` is already set.
    """
    if driver._moduleInitialized:
        return
    if _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000) == -1:
        raise DependencyError("espeak-ng failed to initialise", "run `narrator doctor`")
    driver._defaultVoice = "en"  # present in every espeak-ng; set_voice checks the real one
    driver._moduleInitialized = True


class _LoopClock:
    """Stands in for `time` in pyttsx3's espeak driver: sleeps only while the loop runs."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    def sleep(self, seconds: float) -> None:
        if self._driver._looping:
            time.sleep(seconds)


def _skip_finished_sleep(driver_module: Any, driver: Any) -> None:
    """Make the driver's `startLoop` return as soon as the utterance has finished.

    `startLoop` starts the synthesis, then sleeps 10 ms before it checks whether the loop
    ended. In synchronous mode the utterance has always ended by then, so the sleep is
    pure waiting: 20 ms per segment with the state probe, which made synthesis five
    times slower than espeak-ng itself. The driver module uses `time` for nothing else.
    """
    driver_module.time = _LoopClock(driver)


def _end_of_message(_espeak: Any) -> Any:
    """The event list espeak sends at the end of a message in asynchronous mode."""
    events = (_espeak.EVENT * 2)()
    events[0].type = _espeak.EVENT_MSG_TERMINATED
    events[1].type = _espeak.EVENT_LIST_TERMINATED
    return events


def _in_own_process(speak: Callable[[], bytes]) -> bytes:
    """Run `speak` in a forked copy of this process and return the audio it made.

    The copy starts from this process's state and is thrown away after one utterance,
    so nothing espeak-ng keeps from an utterance ever reaches the next one."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: speak, send the audio, and leave without any clean-up
        os.close(read)
        code = 1
        try:
            with os.fdopen(write, "wb") as pipe:
                pipe.write(speak())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        pcm = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise DependencyError(
            "espeak-ng failed to speak an utterance", "run `narrator doctor` to check it"
        )
    return pcm


class Pyttsx3Engine:
    """espeak-ng through pyttsx3's espeak driver; one instance per process."""

    name = "pyttsx3-espeak"

    def __init__(self, config: EngineConfig) -> None:
        self.location: EspeakLocation = _location(config)
        self._tmp = scratch_dir("engine")
        data = self.location.data or system_data_dir()
        self._steady = data is not None
        loaded = self.location
        if data is not None:
            overlay = make_steady_overlay(Path(data), config.voice, Path(self._tmp.name))
            loaded = replace(self.location, data=str(overlay))
        library = load_espeak(loaded)
        self._library = library
        self.espeak_version, self.espeak_data = espeak_version(library)
        try:
            import pyttsx3
            from pyttsx3.drivers import _espeak, espeak
        except (ImportError, RuntimeError) as exc:
            raise DependencyError(
                f"pyttsx3 cannot load espeak-ng: {exc}", "run `narrator doctor` for details"
            ) from exc
        self._espeak = _espeak
        _initialize_synchronous(_espeak, espeak.EspeakDriver)
        self._engine: Any = pyttsx3.init("espeak")
        _skip_finished_sleep(espeak, self._engine.proxy._driver)
        self._end_events = _end_of_message(_espeak)
        _espeak.SetSynthCallback(self._on_synth)
        self.version = f"pyttsx3 {getattr(pyttsx3, '__version__', '2.99')}, espeak-ng " + (
            self.espeak_version
        )
        self._finished = threading.Event()
        self._engine.connect("finished-utterance", self._on_finished)
        self.set_voice(config.voice)
        # the in-process undo is verified for the bundled library only (see module doc)
        self.isolated = self.location.origin != "bundled"
        if not self.isolated:
            self._calibrate()

    def _on_synth(self, wav: Any, samples: int, events: Any) -> int:
        """Forward espeak's callback to the driver, adding the end-of-message event that
        synchronous mode does not send (it calls back once with no audio instead)."""
        driver = self._engine.proxy._driver
        driver._onSynth(wav, samples, events)
        if not wav:
            driver._onSynth(None, 0, self._end_events)
        return 0

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        self._finished.set()

    def set_voice(self, voice: str) -> None:
        """Select a voice by id (`gmw/en-us`, `en-us`, optionally `+variant`)."""
        known = {v.id for v in self.voices()} | {v.id.split("/")[-1] for v in self.voices()}
        if voice.partition("+")[0] not in known:
            raise SettingsError(
                f"unknown voice {voice!r}", "run `narrator voices` to list the installed voices"
            )
        try:
            self._engine.setProperty("voice", steady_voice(voice) if self._steady else voice)
        except ValueError as exc:
            raise SettingsError(f"espeak-ng cannot use voice {voice!r}: {exc}") from exc

    def voices(self) -> list[VoiceInfo]:
        return [
            VoiceInfo(v.id, v.name, tuple(v.languages or ()), v.gender, "espeak")
            for v in self._engine.getProperty("voices")
        ]

    def synthesize(self, text: str, prosody: Prosody) -> Audio:
        """Speak `text`; the result depends only on the text, prosody and voice."""
        pieces = []
        for piece in split_for_engine(text):
            if self.isolated:
                pieces.append(_in_own_process(partial(self._speak, piece, prosody)))
            else:
                self._restore_state()
                pieces.append(self._speak(piece, prosody))
        return Audio(b"".join(pieces), SAMPLE_RATE)

    def _speak(self, text: str, prosody: Prosody) -> bytes:
        self._set_prosody(prosody)
        return self._utter(text)

    def _probe(self) -> bytes:
        self._set_prosody(_STATE_PROSODY)
        return self._utter(_PROBE)

    def _calibrate(self) -> None:
        """Learn how to undo the state the bundled espeak-ng carries between utterances.

        Besides pitch flutter (see espeak.make_steady_overlay), espeak-ng keeps one bit of
        state that some utterances flip and others keep: the same sentence comes out in
        one of two slightly different forms depending on everything said before it in the
        process. That would make audio depend on scheduling and defeat reuse. We read the
        bit by speaking a probe ("a", which keeps it) and comparing with the probe's two
        known forms, and clear it with a short utterance found here to flip it.
        """
        self._state_refs: tuple[bytes, bytes] | None = None
        self._flipper = ""
        clear = self._probe()
        if self._probe() != clear:
            return  # the probe itself changes the state: this espeak-ng differs; no undo
        for flipper in _FLIPPERS:
            self._set_prosody(_STATE_PROSODY)
            self._utter(flipper)
            flipped = self._probe()
            if flipped != clear:
                self._set_prosody(_STATE_PROSODY)
                self._utter(flipper)
                if self._probe() == clear:
                    self._state_refs, self._flipper = (clear, flipped), flipper
                return

    def _restore_state(self) -> None:
        """Bring espeak-ng back to the state it had after start-up, if it left it."""
        if self._state_refs is not None and self._probe() == self._state_refs[1]:
            self._set_prosody(_STATE_PROSODY)
            self._utter(self._flipper)

    def _set_prosody(self, prosody: Prosody) -> None:
        self._engine.setProperty("rate", prosody.rate)
        self._engine.setProperty("pitch", prosody.pitch)
        self._engine.setProperty("volume", prosody.volume)

    def _utter(self, text: str) -> bytes:
        """Synthesize one short utterance, waiting until it is really done.

        The driver writes its WAV into memory: `wave.open` takes a file object as well as
        a name, and a file on disk, truncated and written twice per segment, cost the
        speech workers about 3 s of system time on emerson-nature.md."""
        self._finished.clear()
        wav_file = io.BytesIO()
        with contextlib.redirect_stdout(io.StringIO()):
            self._engine.save_to_file(text, wav_file)
            self._engine.runAndWait()
            finished = self._finished.wait(_FINISH_TIMEOUT_S)
        if not finished:
            raise DependencyError(
                "espeak-ng did not finish an utterance within a minute",
                "run `narrator doctor` to check the speech engine",
            )
        while self._espeak.IsPlaying() or self._engine.proxy.isBusy():
            time.sleep(0.002)
        wav_file.seek(0)
        with wave.open(wav_file, "rb") as wav:
            if wav.getframerate() != SAMPLE_RATE or wav.getsampwidth() != 2:
                raise DependencyError("espeak-ng produced an unexpected audio format")
            return wav.readframes(wav.getnframes())


def make(config: EngineConfig) -> Pyttsx3Engine:
    return Pyttsx3Engine(config)


def voices() -> list[VoiceInfo]:
    """espeak-ng's voices (from an engine made for its default voice)."""
    from narrator.speech.registry import entry

    return Pyttsx3Engine(EspeakConfig(entry("espeak").default_voice)).voices()
