"""Synthesize a script's segments in worker processes, one engine per worker.

Workers are started with `spawn`: pyttsx3's espeak callback is process-wide and an engine
created before a `fork` hangs the child. Each distinct (text, emphasis) is synthesized
once; the engine's own leading and trailing silence is trimmed so that the pauses the
listener hears are the script's.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_for
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from typing import TypeVar

from narrator.cache import AudioCache, content_key
from narrator.errors import DependencyError, SettingsError
from narrator.model import Emphasis, Script, Style, Utterance, utterance_of
from narrator.speech import registry
from narrator.speech.engine import EngineConfig, Prosody, SpeechEngine
from narrator.speech.trim import TRIM_SETTINGS, trim_silence

SEGMENTS = "segments"  # cache kind: trimmed mono PCM of one utterance

T = TypeVar("T")
B = TypeVar("B")
_BATCH_CHARS = 1500  # per task: small enough for smooth progress, big enough to amortise


@dataclass(frozen=True)
class Voice:
    """The engine settings a build synthesizes with."""

    engine: EngineConfig
    prosody: Prosody

    def prosody_of(self, spoken: Utterance) -> Prosody:
        return prosody_for(self.prosody, spoken.emphasis, spoken.style)


# (rate factor, pitch change, volume factor) for each emphasis level and style
_EMPHASIS = {
    Emphasis.NONE: (1.0, 0, 1.0),
    Emphasis.MODERATE: (0.9, 8, 1.1),
    Emphasis.STRONG: (0.82, 15, 1.25),
}
_STYLE = {
    Style.BODY: (1.0, 0, 1.0),
    Style.HEADING: (0.88, -6, 1.15),  # slower, lower and fuller: a new part begins
    Style.QUOTE: (0.95, -4, 0.95),  # a little set off from the narrator's own voice
}


def prosody_for(base: Prosody, emphasis: Emphasis, style: Style = Style.BODY) -> Prosody:
    """Emphasis and style as prosody: emphasis is slower, higher and louder as it rises."""
    rate, pitch, volume = float(base.rate), base.pitch, base.volume
    for slower, higher, louder in (_EMPHASIS[emphasis], _STYLE[style]):
        rate, pitch, volume = rate * slower, pitch + higher, volume * louder
    return replace(
        base,
        rate=round(rate),
        pitch=max(0, min(100, pitch)),
        volume=round(min(2.0, volume), 3),
    )


_worker_engine: SpeechEngine | None = None
_worker_config: EngineConfig | None = None


def _init_worker(engines: tuple[registry.EngineEntry, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    registry.register_all(engines)  # the parent's engines, registered at run time too


def _engine(voice: Voice) -> SpeechEngine:
    """This worker's engine, made by its first task rather than the pool initializer so
    that a bad setting (an unknown voice) reaches the parent as its error."""
    global _worker_engine, _worker_config
    if _worker_engine is None:
        _worker_engine, _worker_config = registry.make_engine(voice.engine), voice.engine
    elif voice.engine != _worker_config:
        # the engine undoes espeak-ng's carried state for the voice it started with only
        raise SettingsError(
            "a worker pool can only be shared by essays with the same voice settings",
            "build them one at a time",
        )
    return _worker_engine


def spoken(voice: Voice, utterance: Utterance, key: str, store: AudioCache) -> bytes:
    """Runs in a worker: the utterance's trimmed clip from `store`, else spoken, trimmed
    and put there under `key`."""
    found = store.get(SEGMENTS, key)
    if found is not None:
        return found
    audio = _engine(voice).synthesize(utterance.text, voice.prosody_of(utterance))
    clip = trim_silence(audio.pcm, audio.sample_rate)
    store.put(SEGMENTS, key, clip)
    return clip


def _synthesize_batch(
    voice: Voice, batch: list[Utterance], store: AudioCache, keys: list[str]
) -> None:
    """Runs in a worker: speak each utterance, trim it and put it in `store` under its key.

    The clips go straight to the store (a file each) rather than back through the pool's
    pipe, so the parent never holds audio."""
    engine = _engine(voice)
    for utterance, key in zip(batch, keys, strict=True):
        audio = engine.synthesize(utterance.text, voice.prosody_of(utterance))
        store.put(SEGMENTS, key, trim_silence(audio.pcm, audio.sample_rate))


def batches(utterances: list[Utterance]) -> list[list[Utterance]]:
    """Cut the utterances, in script order, into batches of about `_BATCH_CHARS` characters."""
    result: list[list[Utterance]] = [[]]
    size = 0
    for utterance in utterances:
        if size >= _BATCH_CHARS:
            result.append([])
            size = 0
        result[-1].append(utterance)
        size += len(utterance.text)
    return [batch for batch in result if batch]


def utterances(script: Script) -> list[Utterance]:
    """The script's distinct utterances, in order of first appearance."""
    return list(
        dict.fromkeys(utterance_of(s) for chapter in script.chapters for s in chapter.segments)
    )


def utterance_key(voice: Voice, utterance: Utterance, identity: object = None) -> str:
    """The cache key of an utterance's clip: everything that changes its sound, never its
    place. `identity` is the engine's (`registry.engine_identity`), when known."""
    if identity is None:
        identity = registry.engine_identity(voice.engine)
    prosody = asdict(voice.prosody_of(utterance))
    return content_key("segment", identity, TRIM_SETTINGS, utterance.text, prosody)


def utterance_keys(script: Script, voice: Voice) -> dict[Utterance, str]:
    """The cache key of each of the script's utterances."""
    identity = registry.engine_identity(voice.engine)
    return {u: utterance_key(voice, u, identity) for u in utterances(script)}


def submit(
    pool: ProcessPoolExecutor,
    voice: Voice,
    missing: Sequence[Utterance],
    keys: Mapping[Utterance, str],
    store: AudioCache,
) -> dict[Future[None], list[Utterance]]:
    """Queue `missing` for synthesis into `store`, in batches in script order; each future
    is done when its batch's clips are in the store.

    The engine's output depends only on the text and prosody (engine.py undoes the state
    espeak-ng carries between utterances), so which worker speaks what, and in which
    order, changes nothing, and a clip from the cache is the clip a clean build would make.
    """
    return {
        pool.submit(_synthesize_batch, voice, batch, store, [keys[u] for u in batch]): batch
        for batch in batches(list(missing))
    }


def finished(future: Future[T]) -> T:
    """What a task returned; raise what its worker raised (a dead worker becomes a
    DependencyError)."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise DependencyError("a speech worker process died", "run `narrator doctor`") from exc


def synthesis_pool(jobs: int) -> ProcessPoolExecutor:
    """Worker processes for synthesis, started with `spawn`; several builds may share one."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=max(1, jobs),
        mp_context=context,
        initializer=_init_worker,
        initargs=(registry.entries(),),
    )


class Speech:
    """Clips in a store, and a worker pool that is started only when needed."""

    def __init__(
        self,
        voice: Voice,
        keys: Mapping[Utterance, str],
        store: AudioCache,
        jobs: int,
        pool: ProcessPoolExecutor | None,
        stack: contextlib.ExitStack,
    ) -> None:
        self.voice, self.keys, self.store = voice, keys, store
        self._jobs, self._pool, self._stack = jobs, pool, stack
        self._lock = threading.Lock()

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = self._stack.enter_context(synthesis_pool(self._jobs))
            return self._pool

    def missing(self, needed: Sequence[Utterance]) -> list[Utterance]:
        return [u for u in needed if not self.store.has(SEGMENTS, self.keys[u])]


def as_done(pending: dict[Future[T], B]) -> Iterator[tuple[B, T]]:
    """Each task's batch and result as it finishes; a dead worker becomes a
    DependencyError, and what is still queued is cancelled when the caller stops."""
    try:
        while pending:
            done, _ = wait_for(pending, return_when=FIRST_COMPLETED)
            for future in done:
                batch = pending.pop(future)
                yield batch, finished(future)
    finally:
        for future in pending:
            future.cancel()
