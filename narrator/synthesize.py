"""Synthesize a script's segments in worker processes, one engine per worker.

Workers are started with `spawn`: pyttsx3's espeak callback is process-wide and an engine
created before a `fork` hangs the child. Each distinct (text, emphasis) is synthesized
once; the engine's own leading and trailing silence is trimmed so that the pauses the
listener hears are the script's.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from narrator.engine import EngineConfig, Prosody, Pyttsx3Engine, SpeechEngine
from narrator.errors import DependencyError
from narrator.model import Emphasis, Script
from narrator.pcm import trim_silence

ProgressCallback = Callable[[int, int], None]
"""Called with (characters done, characters in all) as synthesis advances."""

_BATCH_CHARS = 4000  # per worker process: small for progress, big to amortise start-up


@dataclass(frozen=True)
class Voice:
    """The engine settings a build synthesizes with."""

    engine: EngineConfig
    prosody: Prosody


@dataclass(frozen=True)
class Utterance:
    text: str
    emphasis: Emphasis


def prosody_for(base: Prosody, emphasis: Emphasis) -> Prosody:
    """Emphasis as prosody: slower, higher and louder as the level rises."""
    if emphasis is Emphasis.NONE:
        return base
    slower, higher, louder = (0.9, 8, 1.1) if emphasis is Emphasis.MODERATE else (0.82, 15, 1.25)
    return replace(
        base,
        rate=round(base.rate * slower),
        pitch=min(100, base.pitch + higher),
        volume=min(2.0, base.volume * louder),
    )


def _synthesize_batch(voice: Voice, batch: list[Utterance]) -> list[bytes]:
    """Runs in a fresh worker process: make an engine, speak the batch in order, trim."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    engine: SpeechEngine = Pyttsx3Engine(voice.engine)
    return [
        trim_silence(audio.pcm, audio.sample_rate)
        for audio in (
            engine.synthesize(u.text, prosody_for(voice.prosody, u.emphasis)) for u in batch
        )
    ]


def batches(utterances: list[Utterance]) -> list[list[Utterance]]:
    """Cut the utterances, in script order, into batches of about `_BATCH_CHARS` characters.

    The cut depends only on the utterances, never on `--jobs` or timing.
    """
    result: list[list[Utterance]] = [[]]
    size = 0
    for utterance in utterances:
        if size >= _BATCH_CHARS:
            result.append([])
            size = 0
        result[-1].append(utterance)
        size += len(utterance.text)
    return [batch for batch in result if batch]


def synthesize_script(
    script: Script, voice: Voice, jobs: int, progress: ProgressCallback | None = None
) -> dict[Utterance, bytes]:
    """Synthesize every distinct utterance of the script; returns trimmed PCM per utterance.

    espeak-ng keeps state from one utterance to the next (the same sentence comes out
    slightly differently after a different one), so each batch is spoken by a new worker
    process, started with `spawn`, in script order: a batch's audio then depends only on
    the batch, and builds are byte-identical whatever `--jobs` is and however the work
    was scheduled. At most `jobs` workers run at once.
    """
    unique = list(
        dict.fromkeys(
            Utterance(s.text, s.emphasis) for chapter in script.chapters for s in chapter.segments
        )
    )
    total = sum(len(u.text) for u in unique)
    done = 0
    clips: dict[Utterance, bytes] = {}
    context = multiprocessing.get_context("spawn")
    waiting = batches(unique)
    waiting.reverse()
    running: dict[Future[list[bytes]], tuple[list[Utterance], ProcessPoolExecutor]] = {}
    try:
        while waiting or running:
            while waiting and len(running) < max(1, jobs):
                batch = waiting.pop()
                worker = ProcessPoolExecutor(max_workers=1, mp_context=context)
                running[worker.submit(_synthesize_batch, voice, batch)] = (batch, worker)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                batch, worker = running.pop(future)
                worker.shutdown()
                try:
                    clips.update(zip(batch, future.result(), strict=True))
                except BrokenProcessPool as exc:
                    raise DependencyError(
                        "a speech worker process died", "run `narrator doctor`"
                    ) from exc
                done += sum(len(u.text) for u in batch)
                if progress:
                    progress(done, total)
    finally:
        for future, (_, worker) in running.items():
            future.cancel()
            worker.shutdown(wait=True, cancel_futures=True)
    return clips
