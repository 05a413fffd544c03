"""Synthesize and encode at once, on every core, holding one clip per chapter in memory.

Speech workers (processes) put each clip into the store as they speak it. As soon as the
last clip of a chapter is there, a thread levels and encodes that chapter with ffmpeg,
streaming its clips from the store, while the workers go on with the next chapters.
Encoded chapters wait on disk until the episode is joined. So no stage waits for work it
does not need, both cores stay busy, and memory does not grow with the episode's length.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from pathlib import Path

from narrator.audio.assemble import (
    CHAPTERS,
    ChapterSpec,
    ClipSource,
    EncodedChapter,
    SpooledChapter,
    cached_chapter,
    spool,
)
from narrator.cache import AudioCache
from narrator.ffmpeg import stop_running
from narrator.model import ProgressCallback, Utterance
from narrator.speech.pool import Speech, speak_batches


@dataclass(frozen=True)
class Produced:
    """The encoded chapters in order, and what the build had to make."""

    chapters: tuple[SpooledChapter, ...]
    synthesized: frozenset[Utterance]
    reused_chapters: int
    seconds: Mapping[str, float]  # wall time of each stage; synthesis and encoding overlap


def produce(
    specs: Sequence[ChapterSpec],
    speech: Speech,
    cache: AudioCache | None,
    spool_dir: Path,
    encode: Callable[[ChapterSpec, ClipSource], EncodedChapter],
    jobs: int,
    progress: ProgressCallback | None = None,
) -> Produced:
    """Each chapter encoded (`encode`) or taken from `cache`, spooled in `spool_dir`.

    Synthesis is queued chapter by chapter, longest first, and a chapter is encoded the
    moment its last clip is in the store, by one of `jobs` threads (each runs ffmpeg, a
    process of its own).
    """
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    spooled: dict[int, SpooledChapter] = {}
    waiting: dict[int, set[Utterance]] = {}
    for index, spec in enumerate(specs):
        found = cached_chapter(spec, cache)
        if found is None:
            waiting[index] = {u for u, _ in spec.parts}
        else:
            spooled[index] = spool(found, spool_dir / f"{index}.mp3")
    reused = len(spooled)
    # Longest chapters first: their encodings, the longest, start earliest, and what is
    # left to encode once the speaking is done is the shortest chapters.
    order = sorted(waiting, key=lambda i: -sum(len(u.text) for u, _ in specs[i].parts))
    needed = list(dict.fromkeys(u for index in order for u, _ in specs[index].parts))
    missing = speech.missing(needed)
    unspoken = set(missing)
    for clips in waiting.values():
        clips &= unspoken
    to_encode = len(waiting)

    def encoded() -> None:
        if progress is not None:
            progress("encoding", len(spooled) - reused, to_encode)

    def encode_one(index: int) -> tuple[int, EncodedChapter]:
        return index, encode(specs[index], speech.clip)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as encoders:
        encoding: set[Future[tuple[int, EncodedChapter]]] = set()

        def start_ready() -> None:
            for index in [i for i, clips in waiting.items() if not clips]:
                del waiting[index]
                encoding.add(encoders.submit(encode_one, index))

        start_ready()
        try:
            for batch in speak_batches(speech, missing, progress):
                for clips in waiting.values():
                    clips.difference_update(batch)
                start_ready()
                spooled.update(_collect(encoding, cache, specs, spool_dir, block=False))
                encoded()
            seconds["synthesize"] = time.perf_counter() - started
            while encoding:
                spooled.update(_collect(encoding, cache, specs, spool_dir, block=True))
                encoded()
        except BaseException:
            for future in encoding:
                future.cancel()
            stop_running()  # running encodes end now, not when their ffmpeg finishes
            raise
    seconds["assemble and encode"] = time.perf_counter() - started
    return Produced(
        tuple(spooled[index] for index in range(len(specs))),
        frozenset(missing) | frozenset(speech.respoken),
        reused,
        seconds,
    )


def _collect(
    encoding: set[Future[tuple[int, EncodedChapter]]],
    cache: AudioCache | None,
    specs: Sequence[ChapterSpec],
    spool_dir: Path,
    block: bool,
) -> dict[int, SpooledChapter]:
    """Spool (and cache) the chapters whose encoding is done; wait for one if `block`."""
    if block:
        done, _ = wait_for(encoding, return_when=FIRST_COMPLETED)
    else:
        done = {future for future in encoding if future.done()}
    result = {}
    for future in done:
        encoding.discard(future)
        index, chapter = future.result()
        if cache is not None:
            cache.put(CHAPTERS, specs[index].key, chapter.to_bytes())
        result[index] = spool(chapter, spool_dir / f"{index}.mp3")
    return result
