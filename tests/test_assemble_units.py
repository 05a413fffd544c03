"""Units and their layout: segments with no pause between them are one unit, every join
falls in a pause of at least JOIN_BELOW_MS, and units are placed on an exact clock."""

from __future__ import annotations

import io

from narrator.audio.assemble import (
    JOIN_BELOW_MS,
    MP3,
    PCM,
    Encoded,
    Grid,
    Unit,
    chapter_specs,
    write_episode,
)
from narrator.model import AudioFormat, Emphasis, Script, ScriptChapter, Segment, utterance_of


def _script() -> Script:
    first = (
        Segment("It is", 0),
        Segment("very", 0, Emphasis.STRONG),
        Segment("cold.", 500),
        Segment("Wait", 40),  # too short a pause to hold a join
        Segment("for it.", 900),
    )
    return Script(
        "t", None, (ScriptChapter("A", first), ScriptChapter("B", (Segment("End.", 2000),)))
    )


def _keys(script: Script) -> dict:
    return {utterance_of(s): s.text for c in script.chapters for s in c.segments}


def test_runs_without_a_pause_are_one_unit_and_every_join_is_in_a_pause() -> None:
    specs = chapter_specs(_script(), _keys(_script()), AudioFormat(), "voice", MP3)
    first = specs[0]
    assert [len(u.parts) for u in first.units] == [3, 2]
    assert [item for item in first.items if isinstance(item, int)] == [500, 900 - 450]
    assert specs[1].items[0] == 450  # the chapter opens inside the pause before it
    assert all(g >= JOIN_BELOW_MS for s in specs for g in s.items if isinstance(g, int))
    assert [p for _, p in first.units[0].parts] == [0, 0, 0]
    assert [p for _, p in first.units[1].parts] == [40, 0]


def test_unit_keys_depend_on_their_segments_alone() -> None:
    script = _script()
    specs = chapter_specs(script, _keys(script), AudioFormat(), "voice", MP3)
    edited = Script("t", None, (script.chapters[0], ScriptChapter("B", (Segment("Fin.", 2000),))))
    again = chapter_specs(edited, _keys(edited), AudioFormat(), "voice", MP3)
    assert again[0].units == specs[0].units
    assert again[1].units[0].key != specs[1].units[0].key
    other = chapter_specs(script, _keys(script), AudioFormat(bitrate_kbps=96), "voice", MP3)
    assert not {u.key for u in other[0].units} & {u.key for u in specs[0].units}
    pcm = chapter_specs(script, _keys(script), AudioFormat(), "voice", PCM)
    assert not {u.key for u in pcm[0].units} & {u.key for u in specs[0].units}


def test_units_are_placed_so_each_pause_keeps_its_length() -> None:
    """On a grid of 100-sample frames with a 30-sample delay, at 1 kHz: each unit goes to
    the frame that starts its sound nearest where the script wants it."""
    script = _script()
    specs = chapter_specs(script, _keys(script), AudioFormat(), "voice", PCM)
    sizes = {}

    def encoded(unit: Unit) -> Encoded:
        samples = 170 + 10 * len(unit.parts)
        sizes[unit.key] = samples
        frames = -(-(samples + 30 + 20) // 100)  # the delay, then padding to a frame
        spans = tuple((20 * i, 20 * i + 10) for i in range(len(unit.parts)))
        return Encoded(bytes([len(unit.parts)]) * frames, frames, samples, spans, 0.0)

    out = io.BytesIO()
    grid = Grid(1000, 100, 30, b"\0")
    timeline, frames = write_episode(specs, encoded, grid, out)
    # unit 1: 200 samples of sound from 30 (frames 0-2); 500 ms pause: sound wanted at
    # 730, so unit 2 starts at frame 7 (sound at 730); it ends at 730 + 190 = 920; then
    # 450 ms: chapter B starts at frame round(1370 / 100) = 14; its unit wanted at
    # 1820 - 30 -> frame 18 (sound at 1830); 2000 ms after its 180 samples: frame 40.
    assert out.getvalue() == b"\3" * 3 + b"\0" * 4 + b"\2" * 3 + b"\0" * 8 + b"\1" * 3 + b"\0" * 19
    assert frames == 40 and timeline.duration_ms == 4000
    assert [(m.start_ms, m.end_ms) for m in timeline.chapters] == [(0, 1400), (1400, 4000)]
    assert [(c.start_ms, c.end_ms) for c in timeline.cues[0]] == [
        (30, 40), (50, 60), (70, 80), (730, 740), (750, 760),
    ]  # fmt: skip
    assert [(c.start_ms, c.end_ms) for c in timeline.cues[1]] == [(1830, 1840)]
