"""Units encoded on their own join in pauses: decoded, the audio around every join is
silent, every pause keeps its length, and the file is the units laid out as planned."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import SEED, decode

from narrator.audio.assemble import (
    MP3,
    UNITS,
    Encoded,
    Grid,
    Unit,
    first_unit,
    write_episode,
)
from narrator.audio.level import samples_of
from narrator.cache import default_cache_dir
from narrator.pipeline import open_cache, plan_episode, prepare
from narrator.speech.engine import SAMPLE_RATE
from narrator.speech.pool import SEGMENTS

RATE = 44100
QUIET_DBFS = -50.0  # what the trim calls silence, and what a join must stay under
WINDOW_MS = 10  # around each join


def _ms_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    """dBFS of each millisecond (RMS), as pydub's trim measures silence."""
    edges = np.round(np.arange(0, len(samples) * 1000 // rate) * rate / 1000).astype(int)
    sizes = np.diff(np.append(edges, len(samples)))
    rms = np.sqrt(np.add.reduceat(samples**2, edges) / sizes)
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.maximum(rms, 1e-12))


def _quiet_edges(levels: np.ndarray) -> tuple[int, int]:
    """Milliseconds of quiet at the start and at the end."""
    loud = np.flatnonzero(levels >= QUIET_DBFS)
    return int(loud[0]), len(levels) - 1 - int(loud[-1])


@pytest.fixture(scope="module")
def laid_out(seed_mp3: Path) -> dict[str, object]:
    """The seed episode's plan, its units from the cache the build filled, where each unit
    lies, and the decoded file."""
    prepared = prepare(SEED)
    plan = plan_episode(prepared, seed_mp3, with_cover=False)
    cache = open_cache(prepared.settings)
    assert cache.root == default_cache_dir()
    units: dict[str, Encoded] = {}
    placed: list[tuple[Unit, int]] = []  # each unit and the frame it starts at

    def encoded(unit: Unit) -> Encoded:
        blob = cache.get(UNITS, unit.key)
        assert blob is not None
        units[unit.key] = Encoded.from_bytes(blob)
        return units[unit.key]

    class Recorder(io.BytesIO):
        frames = 0

        def write(self, data: bytes) -> int:  # type: ignore[override]
            unit = next((u for u, e in _pending if e.audio is data), None)
            if unit is not None:
                placed.append((unit, self.frames))
                self.frames += units[unit.key].frames
            else:
                self.frames += len(data) // len(grid.silence)
            return super().write(data)

    _pending: list[tuple[Unit, Encoded]] = []

    def remembered(unit: Unit) -> Encoded:
        found = encoded(unit)
        _pending.append((unit, found))
        return found

    grid = Grid.of(prepared.settings.audio, MP3, 0, encoded(first_unit(plan.specs)).audio)
    out = Recorder()
    write_episode(plan.specs, remembered, grid, out)
    return {
        "plan": plan,
        "cache": cache,
        "units": units,
        "placed": placed,
        "frames": out.getvalue(),
        "decoded": samples_of(decode(seed_mp3, RATE)),
    }


def test_the_file_is_the_units_laid_out_as_planned(laid_out: dict, seed_mp3: Path) -> None:
    assert laid_out["frames"] in seed_mp3.read_bytes()  # after the tag and the Info frame


def test_the_audio_around_every_join_is_silent(laid_out: dict) -> None:
    decoded, per_frame = laid_out["decoded"], 1152
    levels = _ms_levels(decoded, RATE)
    joins = set()
    for unit, start in laid_out["placed"]:
        joins |= {start, start + laid_out["units"][unit.key].frames}
    assert len(joins) > 100
    for join in sorted(joins):
        at = round(join * per_frame * 1000 / RATE)
        around = levels[max(0, at - WINDOW_MS) : at + WINDOW_MS]
        assert around.max() < QUIET_DBFS, (join, around.max())


def test_every_pause_keeps_its_length(laid_out: dict) -> None:
    """The silence heard between two units is the script's pause between them plus the
    quiet each clip keeps at its edges, to within 30 ms."""
    plan, cache, units = laid_out["plan"], laid_out["cache"], laid_out["units"]
    levels = _ms_levels(laid_out["decoded"], RATE)
    loud = np.flatnonzero(levels >= QUIET_DBFS)
    items = [item for spec in plan.specs for item in spec.items]
    starts = iter(start for _, start in laid_out["placed"])
    at_frame = [next(starts) if isinstance(item, Unit) else None for item in items]
    errors = []
    for index, (before, gap, after) in enumerate(zip(items, items[1:], items[2:], strict=False)):
        if not (isinstance(before, Unit) and isinstance(gap, int) and isinstance(after, Unit)):
            continue
        if not before.parts or not after.parts:
            continue  # a jingle: its quiet edges are its own

        def edges(unit: Unit, gain: float) -> tuple[int, int]:
            clip = cache.get(SEGMENTS, plan.keys[unit.parts[0][0]])
            last = cache.get(SEGMENTS, plan.keys[unit.parts[-1][0]])
            head = _quiet_edges(_ms_levels(samples_of(clip) * 10 ** (gain / 20), SAMPLE_RATE))
            tail = _quiet_edges(_ms_levels(samples_of(last) * 10 ** (gain / 20), SAMPLE_RATE))
            return head[0], tail[1]

        expected = edges(before, units[before.key].gain_db)[1] + gap
        expected += edges(after, units[after.key].gain_db)[0]
        end_of_before = at_frame[index] + units[before.key].frames
        at = round(end_of_before * 1152 * 1000 / RATE)
        after_join = np.searchsorted(loud, at)
        heard = loud[after_join] - loud[after_join - 1] - 1
        errors.append(heard - expected)
    assert len(errors) > 100
    assert max(abs(e) for e in errors) <= 30, sorted(errors, key=abs)[-5:]
    assert abs(sum(errors) / len(errors)) < 10  # no drift either way
