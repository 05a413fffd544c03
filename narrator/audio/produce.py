"""Synthesize and encode at once, on every core, holding one clip per block in memory.

Speech workers (processes) put each clip into the store as they speak it. As soon as the
last clip of a block (a run of a chapter's sentences, see assemble) is there, a thread
levels and encodes that block (in-process, see mp3encode; m4b blocks are levelled by
ffmpeg), streaming its clips from the store, while the
workers go on with the next blocks. Encoded blocks wait on disk until the episode is
joined. So no stage waits for work it does not need, both cores stay busy, and memory
does not grow with the episode's length.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from narrator.audio.assemble import (
    CHAPTERS,
    ChapterSpec,
    ClipSource,
    SpooledChapter,
    cached_chapter,
    chapter_entry,
)
from narrator.cache import AudioCache
from narrator.ffmpeg import stop_running
from narrator.model import ProgressCallback, Utterance
from narrator.speech.engine import LEVEL_REFERENCE
from narrator.speech.pool import Speech, speak_batches


@dataclass(frozen=True)
class Produced:
    """The encoded blocks in order, and what the build had to make."""

    chapters: tuple[SpooledChapter, ...]
    synthesized: frozenset[Utterance]
    reused: frozenset[int]  # the blocks that came from the cache, by index
    seconds: Mapping[str, float]  # wall time of each stage; synthesis and encoding overlap


def produce(
    specs: Sequence[ChapterSpec],
    speech: Speech,
    cache: AudioCache | None,
    spool_dir: Path,
    encode: Callable[[ChapterSpec, ClipSource, Path], SpooledChapter],
    jobs: int,
    progress: ProgressCallback | None = None,
    load_encoder: Callable[[], None] | None = None,
) -> Produced:
    """Each block (`specs`) encoded (`encode`, into the file it is given) or taken from
    `cache`, spooled in `spool_dir`.

    Synthesis is queued block by block, longest first, and a block is encoded the moment
    its last clip is in the store, by one of `jobs` threads (LAME and numpy release the
    GIL, so they encode on every core). `load_encoder`, when something is to be encoded,
    is run first, in a thread, while the clips are spoken.
    """
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    spooled: dict[int, SpooledChapter] = {}
    waiting: dict[int, set[Utterance]] = {}
    stored = [cache is not None and cache.has(CHAPTERS, spec.key) for spec in specs]
    for index, spec in enumerate(specs):
        if not stored[index]:  # it needs its clips and the voice's level
            waiting[index] = {LEVEL_REFERENCE, *(u for u, _ in spec.parts)}
    # Longest blocks first: their encodings, the longest, start earliest, and what is
    # left to encode once the speaking is done is the shortest blocks.
    order = sorted(waiting, key=lambda i: -sum(len(u.text) for u, _ in specs[i].parts))
    first = [LEVEL_REFERENCE] if waiting else []  # spoken first: every encoding needs it
    needed = list(dict.fromkeys([*first, *(u for i in order for u, _ in specs[i].parts)]))
    missing = speech.missing(needed)
    for clips in waiting.values():
        clips &= set(missing)
    batches = speak_batches(speech, missing, progress)  # the workers start on them now
    to_encode = len(waiting)
    made = 0
    stopping = threading.Event()  # set when the build stops: running encodes end early

    def encoded() -> None:
        if progress is not None:
            progress("encoding", made, to_encode)

    def clip_of(spoken: Utterance) -> bytes:
        if stopping.is_set():
            raise _Stopped
        return speech.clip(spoken)

    def encode_one(index: int) -> tuple[int, SpooledChapter]:
        return index, encode(specs[index], clip_of, _spooled_at(spool_dir, index))

    def place() -> tuple[dict[int, SpooledChapter], list[int]]:
        """The blocks from the cache, placed in the spool while the encodes go on: checking
        46 MB of them takes 0.1 s, on the other core (hashing releases the GIL)."""
        placed, broken = {}, []
        for index in (i for i, is_stored in enumerate(stored) if is_stored):
            if stopping.is_set():
                raise _Stopped
            found = cached_chapter(specs[index], cache, _spooled_at(spool_dir, index))
            if found is None:  # not whole after all: encoded again, clips spoken if need be
                broken.append(index)
            else:
                placed[index] = found
        return placed, broken

    reused: frozenset[int] = frozenset()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as encoders, ThreadPoolExecutor(1) as placer:
        encoding: set[Future[tuple[int, SpooledChapter]]] = set()
        placing = placer.submit(place) if any(stored) else None
        if waiting and load_encoder is not None:
            encoders.submit(load_encoder)  # the first thread free takes it: no encode is ready

        def start_ready() -> None:
            for index in [i for i, clips in waiting.items() if not clips]:
                del waiting[index]
                encoding.add(encoders.submit(encode_one, index))

        def collect(block: bool) -> None:
            nonlocal made
            done = _collect(encoding, cache, specs, block)
            spooled.update(done)
            made += len(done)
            encoded()

        start_ready()
        try:
            for batch in batches:
                for clips in waiting.values():
                    clips.difference_update(batch)
                start_ready()
                collect(block=False)
            seconds["synthesize"] = time.perf_counter() - started
            if placing is not None:  # every clip is spoken: a broken block can start now
                placed, broken = placing.result()
                spooled.update(placed)
                reused = frozenset(placed)
                to_encode += len(broken)
                waiting.update((index, set()) for index in broken)
                start_ready()
            while encoding:
                collect(block=True)
        except BaseException:
            for future in encoding:
                future.cancel()
            # running encodes end at their next clip, or now if they wait for ffmpeg, not
            # when their block is done (a long chapter once took 44 s)
            stopping.set()
            stop_running()
            raise
    seconds["assemble and encode"] = time.perf_counter() - started
    return Produced(
        tuple(spooled[index] for index in range(len(specs))),
        frozenset(missing) | frozenset(speech.respoken),
        reused,
        seconds,
    )


class _Stopped(Exception):
    """Raised in an encoding thread when the build has stopped (its result is dropped)."""


def _spooled_at(spool_dir: Path, index: int) -> Path:
    return spool_dir / f"{index}.chapter"


def _collect(
    encoding: set[Future[tuple[int, SpooledChapter]]],
    cache: AudioCache | None,
    specs: Sequence[ChapterSpec],
    block: bool,
) -> dict[int, SpooledChapter]:
    """The blocks whose encoding is done (now cached); wait for one if `block`."""
    if block:
        done, _ = wait_for(encoding, return_when=FIRST_COMPLETED)
    else:
        done = {future for future in encoding if future.done()}
    result = {}
    for future in done:
        encoding.discard(future)
        index, chapter = future.result()
        if cache is not None:
            cache.put_chunks(CHAPTERS, specs[index].key, partial(chapter_entry, chapter))
        result[index] = chapter
    return result
