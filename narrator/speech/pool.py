"""Synthesize a script's segments in worker processes, one engine per worker.

Workers are started with `spawn`: pyttsx3's espeak callback is process-wide and an engine
created before a `fork` hangs the child. Each distinct (text, emphasis) is synthesized
once; the engine's own leading and trailing silence is trimmed so that the pauses the
listener hears are the script's.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures import wait as wait_for
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

from narrator.atomic import remove_abandoned_scratch, remove_own_scratch
from narrator.cache import AudioCache, content_key
from narrator.errors import DependencyError, SettingsError
from narrator.model import Emphasis, ProgressCallback, Script, Style, Utterance, utterance_of
from narrator.speech import registry
from narrator.speech.engine import LEVEL_REFERENCE, EngineConfig, Prosody, SpeechEngine
from narrator.speech.trim import TRIM_SETTINGS, trim_silence

SEGMENTS = "segments"  # cache kind: trimmed mono PCM of one utterance

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
_worker_lock = threading.Lock()  # a cluster worker may run tasks on several threads


_PARENT_CHECK_S = 0.2  # how often a worker checks that the process that started it lives
_STOP_WAIT_S = 1.0  # how long a stopped worker may take to clean up before it is killed


_stopping = False  # set in a worker once it has been told to stop


def _quiet_exit(unraisable: sys.UnraisableHookArgs) -> None:
    """The SystemExit that stops a worker inside espeak-ng's callback cannot propagate and
    is reported as "Exception ignored", and so are the half-made objects it leaves (a
    Wave_write whose __init__ it cut short): say nothing of them once stopping."""
    if not (_stopping or isinstance(unraisable.exc_value, SystemExit)):
        sys.__unraisablehook__(unraisable)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    global _stopping
    _stopping = True
    raise SystemExit(128 + signum)  # unwinds, so the engine's scratch folder is removed


def _watch_parent(parent: int) -> None:
    """Stop this worker once the process that started it is gone (killed, even with
    SIGKILL): a worker blocked waiting for work would otherwise live on, and with it
    multiprocessing's resource tracker."""
    # SIGTERM from outside must reach the main thread: it interrupts a wait for work there
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    # SystemExit raised inside espeak-ng's callback is ignored: try twice, then just go
    # (a scratch folder left behind is removed by the next run)
    main = threading.main_thread().ident or 0
    for _ in range(2):
        signal.pthread_kill(main, signal.SIGTERM)
        time.sleep(_STOP_WAIT_S / 2)
    remove_own_scratch()  # os._exit skips the engine's own clean-up
    os._exit(1)


def _init_worker(parent: int, engines: tuple[registry.EngineEntry, ...]) -> None:
    """Set up a worker of the process `parent` (passed, not read here: it may be gone
    already), knowing the parent's engines (registered at run time too)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    registry.register_all(engines)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.unraisablehook = _quiet_exit
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _quiet_broken_pool_manager() -> None:
    """Once its workers are stopped, the executor's manager thread sets an exception on
    every pending future, and on Python before 3.12 raises InvalidStateError (printed as
    a traceback) for those already cancelled: the interrupted build cancelled them. Say
    nothing of that one error; the command is ending anyway."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not InvalidStateError:
            previous(args)

    threading.excepthook = hook


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's workers now, without waiting for their tasks (an interrupted or
    failed build): each gets SIGTERM, then SIGKILL if it is not gone within a moment.
    Their clips would otherwise go on landing in a scratch folder being removed.
    ProcessPoolExecutor has no public way to do this before Python 3.14."""
    _quiet_broken_pool_manager()
    workers = list((getattr(pool, "_processes", None) or {}).values())
    for worker in workers:
        with contextlib.suppress(OSError, ValueError):
            worker.terminate()
    deadline = time.monotonic() + _STOP_WAIT_S
    for worker in workers:
        with contextlib.suppress(OSError, ValueError):
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                worker.kill()
                worker.join(_STOP_WAIT_S)
    # a worker killed inside an utterance could not remove its engine's scratch folder
    remove_abandoned_scratch()


def segment_payloads(
    voice: Voice, batch: Sequence[Utterance], keys: Sequence[str]
) -> dict[str, bytes]:
    """The per-batch work, wherever it runs (a local worker process or a cluster's
    worker): speak each utterance with this process's engine and trim it; returns what the
    store keeps under each key (today trimmed mono PCM).

    A pure function of its arguments (the engine undoes the state espeak-ng carries
    between utterances), so any worker may run any batch, or run it again, and the result
    is the same bytes. The engine is made once per process, by the first batch rather than
    a pool initializer, so that a bad setting (an unknown voice) reaches the caller as its
    error."""
    global _worker_engine, _worker_config
    with _worker_lock:
        if _worker_engine is None:
            _worker_engine, _worker_config = registry.make_engine(voice.engine), voice.engine
        elif voice.engine != _worker_config:
            # the engine undoes espeak-ng's carried state for the voice it started with only
            raise SettingsError(
                "a speech worker speaks with one voice, and essays with other voice settings"
                " asked this one to change",
                "build them one at a time (on a cluster, restart its workers between voices)",
            )
        payloads = {}
        for utterance, key in zip(batch, keys, strict=True):
            audio = _worker_engine.synthesize(utterance.text, voice.prosody_of(utterance))
            payloads[key] = trim_silence(audio.pcm, audio.sample_rate)
        return payloads


class Spoken(NamedTuple):
    """What a local worker sends back for a batch."""

    clips: list[bytes]  # the clips, if asked for
    cpu: float  # CPU seconds the worker spent on the batch


def _synthesize_batch(
    voice: Voice, batch: list[Utterance], store: AudioCache, keys: list[str], back: bool = False
) -> Spoken:
    """Runs in a local worker: the batch's clips go straight to the store (a file each)
    rather than back through the pool's pipe, so the parent never holds more audio than
    the chapter it is encoding; they come back too only if `back`."""
    started = time.process_time()
    payloads = segment_payloads(voice, batch, keys)
    for key, payload in payloads.items():
        store.put(SEGMENTS, key, payload)
    return Spoken(list(payloads.values()) if back else [], time.process_time() - started)


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
    return list(dict.fromkeys(utterance_of(s) for s in script.segments))


def utterance_keys(script: Script, voice: Voice) -> dict[Utterance, str]:
    """The cache key of each utterance, and of the voice's `LEVEL_REFERENCE`: everything that
    changes its sound, never its place."""
    identity = registry.engine_identity(voice.engine)
    prosodies: dict[tuple[Emphasis, Style], dict[str, object]] = {}  # a few, asked for often
    keys = {}
    for u in [*utterances(script), LEVEL_REFERENCE]:
        if (u.emphasis, u.style) not in prosodies:
            prosodies[u.emphasis, u.style] = asdict(voice.prosody_of(u))
        prosody = prosodies[u.emphasis, u.style]
        keys[u] = content_key("segment", identity, TRIM_SETTINGS, u.text, prosody)
    return keys


def submit(
    pool: ProcessPoolExecutor,
    voice: Voice,
    missing: Sequence[Utterance],
    keys: Mapping[Utterance, str],
    store: AudioCache,
) -> dict[Future[Spoken], list[Utterance]]:
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


def finished(future: Future[Spoken]) -> Spoken:
    """A batch's result, or what its worker raised; a dead worker is a DependencyError."""
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
        initargs=(os.getpid(), registry.entries()),
    )


def _ready() -> None:
    """A task that does nothing: submitting it starts a worker."""


class Workers:
    """The speech worker processes of one command, started only once something is to be
    spoken (a Python process takes 0.1-0.2 s to start, and the pool's semaphores start
    multiprocessing's resource tracker, one more): an unchanged rebuild starts none.
    Several builds may share them; they are shut down when `stack` closes."""

    def __init__(self, jobs: int, stack: contextlib.ExitStack) -> None:
        self._jobs, self._stack = jobs, stack
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = self._stack.enter_context(synthesis_pool(self._jobs))
                self._stack.push(self.stop_on_error)  # on an error, rather than wait for them
            return self._pool

    def stop_on_error(self, kind: type[BaseException] | None, *_: object) -> bool:
        """An exit callback (ExitStack.push): on an interrupt or error, stop the workers."""
        if kind is not None:
            self.stop()
        return False

    def start_one(self, voice: Voice | None = None) -> None:
        """Start a worker now, in the background, rather than when the first batch is
        submitted (while an edited essay is read, say), and with `voice` its engine too."""
        if voice is None:
            self.pool().submit(_ready)
        else:
            self.pool().submit(segment_payloads, voice, [], [])

    def stop(self) -> None:
        """Stop the workers now, if any were started (an interrupted or failed build)."""
        if self._pool is not None:
            stop_workers(self._pool)


class Speech:
    """Clips in a store, spoken by a worker pool that is started only when needed.

    The cluster (cluster.py) speaks through the same interface: it overrides `spoken`
    and `speak_now`."""

    def __init__(
        self,
        voice: Voice,
        keys: Mapping[Utterance, str],
        store: AudioCache,
        workers: Workers,
        stack: contextlib.ExitStack,
    ) -> None:
        self.voice, self.keys, self.store, self._workers = voice, keys, store, workers
        self.respoken: set[Utterance] = set()
        self.cpu = 0.0  # CPU seconds the workers spent speaking for this build
        # on an interrupt or error, stop the workers (shared ones too: the command ends);
        # registered after the build's scratch folder, so it runs before its removal
        stack.push(workers.stop_on_error)

    @property
    def workers(self) -> int | None:
        """How many cluster workers spoke for this build; None: the local pool did."""
        return None

    def missing(self, needed: Sequence[Utterance]) -> list[Utterance]:
        return [u for u in needed if not self.store.has(SEGMENTS, self.keys[u])]

    def submit(self, utterances: Sequence[Utterance]) -> dict[Future[Spoken], list[Utterance]]:
        if not utterances:
            return {}
        return submit(self._workers.pool(), self.voice, utterances, self.keys, self.store)

    def spoken(self, utterances: Sequence[Utterance]) -> Iterator[list[Utterance]]:
        """Speak `utterances` into the store: queued at once; the iterator yields each batch
        once its clips are there."""
        return self._collected(self.submit(utterances))

    def _collected(
        self, pending: dict[Future[Spoken], list[Utterance]]
    ) -> Iterator[list[Utterance]]:
        for batch, spoken in _as_done(pending):
            self.cpu += spoken.cpu
            yield batch

    def speak_now(self, utterance: Utterance) -> bytes:
        """Speak one clip into the store now, and return it: it comes back through the
        pipe, since in the store it could vanish again (a `cache clear` meanwhile)."""
        key = self.keys[utterance]
        task = self._workers.pool().submit(
            _synthesize_batch, self.voice, [utterance], self.store, [key], True
        )
        spoken = finished(task)
        self.cpu += spoken.cpu
        return spoken.clips[0]

    def clip(self, utterance: Utterance) -> bytes:
        """A clip from the store; one that vanished (a corrupt entry removed, or evicted by
        another build) after the build counted on it is spoken again."""
        found = self.store.get(SEGMENTS, self.keys[utterance])
        if found is not None:
            return found
        self.respoken.add(utterance)
        return self.speak_now(utterance)


def speak_batches(
    speech: Speech, missing: Sequence[Utterance], progress: ProgressCallback | None
) -> Iterator[list[Utterance]]:
    """Synthesize `missing` into the store (queued at once, with the local pool), yielding
    each batch as it is done and reporting progress in characters spoken."""
    total = sum(len(u.text) for u in missing)
    return _reported(speech.spoken(missing), total, progress)


def _reported(
    done: Iterator[list[Utterance]], total: int, progress: ProgressCallback | None
) -> Iterator[list[Utterance]]:
    said = 0
    for batch in done:
        said += sum(len(u.text) for u in batch)
        if progress is not None:
            progress("synthesizing", said, total)
        yield batch


def _as_done(
    pending: dict[Future[Spoken], list[Utterance]],
) -> Iterator[tuple[list[Utterance], Spoken]]:
    try:
        while pending:
            done, _ = wait_for(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), finished(future)
    finally:
        for future in pending:
            future.cancel()
