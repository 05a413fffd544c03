"""Speak, level and encode each unit at once, in the worker process that speaks it.

The workers take the units no store holds yet, in batches in script order; each speaks a
unit's segments (or takes their clips from the cache), levels the unit by its own
loudness and encodes it (see assemble), and puts its frames in the store. So both cores
encode from the first second, no audio passes twice, the parent never holds audio, and
an edit costs its own units and nothing else.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from narrator.audio.assemble import UNITS, ChapterSpec, Encoded, Unit, make_unit
from narrator.cache import AudioCache
from narrator.errors import OutputError
from narrator.model import AudioFormat, Emphasis, ProgressCallback, Utterance
from narrator.speech.engine import SAMPLE_RATE
from narrator.speech.pool import Speech, Voice, as_done, finished, spoken, utterance_key

_BATCH_CHARS = 600  # per task: small enough to keep both workers busy to the end
_JINGLE_CHARS = 200  # what a jingle weighs in a batch (it is levelled and encoded only)
# Spoken once per voice: its loudness levels the units too short to measure.
CALIBRATION = Utterance(
    "It was a bright cold day in April, and the clocks were striking thirteen. The hallway"
    " smelt of boiled cabbage and old rag mats. At one end of it a coloured poster, too"
    " large for indoor display, had been tacked to the wall.",
    Emphasis.NONE,
)


def voice_key(voice: Voice) -> str:
    """The key of the voice's calibration clip, which levels its shortest units."""
    return utterance_key(voice, CALIBRATION)


def cpu_seconds() -> float:
    """CPU time of this process so far (all its threads) and of its children that have
    ended (ffmpeg runs; speech workers count once their pool is shut)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


_voice_gains: dict[tuple[str, float], float] = {}


def _voice_gain(voice: Voice, store: AudioCache, target: float) -> float:
    """The gain that brings the voice, as its calibration text measures, to `target`."""
    from narrator.audio.level import loudness, samples_of

    key = voice_key(voice)
    if (key, target) not in _voice_gains:
        clip = spoken(voice, CALIBRATION, key, store)
        measured = loudness(samples_of(clip), SAMPLE_RATE)
        _voice_gains[key, target] = 0.0 if measured is None else target - measured
    return _voice_gains[key, target]


def _style_offset(voice: Voice, unit: Unit) -> float:
    """How much louder than the voice the unit is meant to be (in dB): the volume its
    longest segment's style and emphasis give it (a heading is spoken a little fuller)."""
    if not unit.parts or voice.prosody.volume <= 0:
        return 0.0
    main = max((spoken for spoken, _ in unit.parts), key=lambda u: len(u.text))
    return 20 * math.log10(voice.prosody_of(main).volume / voice.prosody.volume)


def make_units(
    voice: Voice,
    units: list[Unit],
    keys: list[list[str]],
    segments: AudioCache,
    out: AudioCache,
    fmt: AudioFormat,
    mode: str,
) -> float:
    """Runs in a worker: make each unit (its clips from `segments`, else spoken into it)
    and put it in `out`. Returns the CPU seconds it took."""
    started = cpu_seconds()
    gain = _voice_gain(voice, segments, fmt.target_lufs)
    for unit, unit_keys in zip(units, keys, strict=True):
        clips = [
            spoken(voice, u, k, segments) for (u, _), k in zip(unit.parts, unit_keys, strict=True)
        ]
        made = make_unit(unit, clips, SAMPLE_RATE, fmt, gain, _style_offset(voice, unit), mode)
        out.put(UNITS, unit.key, made.to_bytes())
    return cpu_seconds() - started


def _weight(unit: Unit) -> int:
    return sum(len(u.text) for u, _ in unit.parts) if unit.parts else _JINGLE_CHARS


def batches(units: Sequence[Unit]) -> list[list[Unit]]:
    """The units cut, in order, into batches of about `_BATCH_CHARS` characters."""
    result: list[list[Unit]] = [[]]
    size = 0
    for unit in units:
        if size >= _BATCH_CHARS:
            result.append([])
            size = 0
        result[-1].append(unit)
        size += _weight(unit)
    return [batch for batch in result if batch]


@dataclass(frozen=True)
class Produced:
    """What the build had to make, and what it took."""

    synthesized: frozenset[Utterance]
    made_units: int
    reused_chapters: int  # chapters none of whose units had to be made
    seconds: Mapping[str, float]  # wall time of each stage
    cpu: Mapping[str, float]  # CPU time of each stage, its worker processes' included


class Producer:
    """Makes the units of an episode in `speech`'s workers into `out` (the cache, or a
    scratch store), and hands them out for joining."""

    def __init__(self, speech: Speech, out: AudioCache, fmt: AudioFormat, mode: str) -> None:
        self.speech, self.out, self.fmt, self.mode = speech, out, fmt, mode
        self.remade: set[Utterance] = set()

    def _submit(self, batch: list[Unit]) -> Future[float]:
        keys = [[self.speech.keys[u] for u, _ in unit.parts] for unit in batch]
        return self.speech.pool().submit(
            make_units, self.speech.voice, batch, keys, self.speech.store, self.out,
            self.fmt, self.mode,
        )  # fmt: skip

    def produce(
        self, specs: Sequence[ChapterSpec], progress: ProgressCallback | None = None
    ) -> Produced:
        """Make every unit of `specs` that `out` does not hold yet."""
        started, cpu = time.perf_counter(), cpu_seconds()
        units = list({unit.key: unit for spec in specs for unit in spec.units}.values())
        missing = [unit for unit in units if not self.out.has(UNITS, unit.key)]
        needed = list(dict.fromkeys(u for unit in missing for u, _ in unit.parts))
        synthesized = frozenset(self.speech.missing(needed))
        total, done, worker_cpu = sum(_weight(u) for u in missing), 0, 0.0
        pending = {self._submit(batch): batch for batch in batches(missing)}
        for batch, seconds in as_done(pending):
            worker_cpu += seconds
            done += sum(_weight(u) for u in batch)
            if progress is not None:
                progress("synthesizing", done, total)
        made = {unit.key for unit in missing}
        reused = sum(not any(unit.key in made for unit in spec.units) for spec in specs)
        wall = {"speak and encode": time.perf_counter() - started}
        return Produced(
            synthesized,
            len(missing),
            reused,
            wall,
            {"speak and encode": cpu_seconds() - cpu + worker_cpu},
        )

    def encoded(self, unit: Unit) -> Encoded:
        """A unit from the store; one that vanished (a corrupt entry removed, or evicted by
        another build) is made again now."""
        blob = self.out.get(UNITS, unit.key)
        if blob is None:
            self.remade.update(u for u, _ in unit.parts)
            finished(self._submit([unit]))
            blob = self.out.get(UNITS, unit.key)
            if blob is None:
                raise OutputError(
                    f"cannot keep audio in the cache at {self.out.root}",
                    "check that the folder is writable and has space, or use --no-cache",
                )
        return Encoded.from_bytes(blob)
