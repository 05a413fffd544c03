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
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace

from narrator.cache import AudioCache, content_key
from narrator.engine import EngineConfig, Prosody, SpeechEngine
from narrator.engines import engine_identity, make_engine
from narrator.errors import DependencyError, SettingsError
from narrator.model import Emphasis, ProgressCallback, Script, Segment, Style
from narrator.pcm import TRIM_SETTINGS, trim_silence

SEGMENTS = "segments"  # cache kind: trimmed mono PCM of one utterance

_BATCH_CHARS = 1500  # per task: small enough for smooth progress, big enough to amortise


@dataclass(frozen=True)
class Voice:
    """The engine settings a build synthesizes with."""

    engine: EngineConfig
    prosody: Prosody

    def prosody_of(self, spoken: Utterance) -> Prosody:
        return prosody_for(self.prosody, spoken.emphasis, spoken.style)


@dataclass(frozen=True)
class Utterance:
    """What decides a segment's sound besides the voice: its text, emphasis and style."""

    text: str
    emphasis: Emphasis
    style: Style = Style.BODY


def utterance_of(segment: Segment) -> Utterance:
    return Utterance(segment.text, segment.emphasis, segment.style)


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
    rate, pitch, volume = base.rate, base.pitch, base.volume
    for slower, higher, louder in (_EMPHASIS[emphasis], _STYLE[style]):
        rate, pitch, volume = rate * slower, pitch + higher, volume * louder
    return replace(
        base,
        rate=round(rate),
        pitch=max(0, min(100, pitch)),
        volume=round(min(2.0, volume), 3),
    )


_worker_engine: SpeechEngine | None = None
_worker_config = EngineConfig("")


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us


def _synthesize_batch(voice: Voice, batch: list[Utterance]) -> list[bytes]:
    """Runs in a worker. The engine is made by the first task rather than the pool
    initializer so that a bad setting (an unknown voice) reaches the parent as its error."""
    global _worker_engine, _worker_config
    if _worker_engine is None:
        _worker_engine, _worker_config = make_engine(voice.engine), voice.engine
    elif voice.engine != _worker_config:
        # the engine undoes espeak-ng's carried state for the voice it started with only
        raise SettingsError(
            "a worker pool can only be shared by essays with the same voice settings",
            "build them one at a time",
        )
    engine = _worker_engine
    return [
        trim_silence(audio.pcm, audio.sample_rate)
        for audio in (
            engine.synthesize(u.text, prosody_for(voice.prosody, u.emphasis, u.style))
            for u in batch
        )
    ]


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


def utterance_keys(script: Script, voice: Voice) -> dict[Utterance, str]:
    """The cache key of each utterance: everything that changes its sound, never its place."""
    identity = engine_identity(voice.engine)
    return {
        u: content_key(
            "segment",
            identity,
            TRIM_SETTINGS,
            u.text,
            asdict(voice.prosody_of(u)),
        )
        for u in utterances(script)
    }


@dataclass(frozen=True)
class Synthesis:
    """Trimmed PCM per utterance, and which utterances had to be synthesized."""

    clips: dict[Utterance, bytes]
    synthesized: frozenset[Utterance]


def synthesize(
    needed: Sequence[Utterance],
    voice: Voice,
    keys: Mapping[Utterance, str],
    jobs: int,
    cache: AudioCache | None = None,
    progress: ProgressCallback | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> Synthesis:
    """The clips of `needed`: from the cache, else synthesized (and then stored).

    Workers are started with `spawn` and each makes its own engine. The engine's output
    depends only on the text and prosody (engine.py undoes the state espeak-ng carries
    between utterances), so which worker speaks what, and in which order, changes nothing,
    and a clip from the cache is the clip a clean build would make.
    """
    clips: dict[Utterance, bytes] = {}
    if cache is not None:
        for utterance in needed:
            cached = cache.get(SEGMENTS, keys[utterance])
            if cached is not None:
                clips[utterance] = cached
    missing = [u for u in needed if u not in clips]
    if missing:
        with contextlib.ExitStack() as stack:
            if pool is None:
                pool = stack.enter_context(synthesis_pool(jobs))
            total = sum(len(u.text) for u in missing)
            for batch, pcm in _run_pool(voice, missing, pool, progress, total):
                for utterance, clip in zip(batch, pcm, strict=True):
                    clips[utterance] = clip
                    if cache is not None:
                        cache.put(SEGMENTS, keys[utterance], clip)
    return Synthesis(clips, frozenset(missing))


def synthesis_pool(jobs: int) -> ProcessPoolExecutor:
    """Worker processes for synthesis, started with `spawn`; several builds may share one."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=max(1, jobs), mp_context=context, initializer=_init_worker
    )


def _run_pool(
    voice: Voice,
    missing: list[Utterance],
    pool: ProcessPoolExecutor,
    progress: ProgressCallback | None,
    total: int,
) -> Iterator[tuple[list[Utterance], list[bytes]]]:
    """Yield (batch, clips) as workers finish them, reporting progress."""
    pending: dict[Future[list[bytes]], list[Utterance]] = {
        pool.submit(_synthesize_batch, voice, batch): batch for batch in batches(missing)
    }
    done = 0
    try:
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                batch = pending.pop(future)
                try:
                    yield batch, future.result()
                except BrokenProcessPool as exc:
                    raise DependencyError(
                        "a speech worker process died", "run `narrator doctor`"
                    ) from exc
                done += sum(len(u.text) for u in batch)
                if progress:
                    progress("synthesizing", done, total)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
