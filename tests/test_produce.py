"""The producer: each unit is spoken, levelled and encoded in a worker and kept in the
store; an edit makes only the units it touched; a build without the cache leaves nothing
behind."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from narrator.audio.assemble import MP3, UNITS, Encoded, chapter_specs
from narrator.audio.produce import Producer, voice_key
from narrator.cache import AudioCache
from narrator.model import AudioFormat, Script, ScriptChapter, Segment
from narrator.speech.engine import Prosody
from narrator.speech.espeak import EspeakConfig
from narrator.speech.pool import Speech, Voice, utterance_keys


def _script(sentences: list[str]) -> Script:
    return Script("t", None, (ScriptChapter("One", tuple(Segment(s, 500) for s in sentences)),))


def _produce(script: Script, store: AudioCache, voice: Voice) -> tuple[list[Encoded], int]:
    keys = utterance_keys(script, voice)
    specs = chapter_specs(script, keys, AudioFormat(), voice_key(voice), MP3)
    with contextlib.ExitStack() as stack:
        producer = Producer(Speech(voice, keys, store, 2, None, stack), store, AudioFormat(), MP3)
        produced = producer.produce(specs)
        units = [producer.encoded(unit) for unit in specs[0].units]
    return units, produced.made_units


def test_units_are_made_in_the_workers_and_an_edit_makes_only_its_own(tmp_path: Path) -> None:
    voice = Voice(EspeakConfig("gmw/en-us"), Prosody(155, 50, 1.0))
    store = AudioCache(tmp_path / "store")
    sentences = [f"Sentence {n} says something long enough to measure." for n in range(6)]
    units, made = _produce(_script(sentences), store, voice)
    assert made == 6 and all(unit.audio[:2] == b"\xff\xfb" for unit in units)
    assert all(unit.frames * 1152 > unit.samples + 1105 for unit in units)  # delay, padding
    assert len(list((store.root / "v2" / UNITS).glob("*/*"))) == 6
    edited = [*sentences[:3], "An edited sentence, long enough to measure.", *sentences[4:]]
    again, made = _produce(_script(edited), store, voice)
    assert made == 1  # the edited sentence's unit, nothing else
    assert [u.audio for u in again[:3] + again[4:]] == [u.audio for u in units[:3] + units[4:]]
    quieter = replace(voice, prosody=Prosody(155, 50, 0.5))  # a voice half as loud ...
    quiet, _ = _produce(_script(sentences), store, quieter)
    # ... is levelled to the same loudness: each unit's gain makes up the difference
    assert all(q.gain_db - u.gain_db > 3 for q, u in zip(quiet, units, strict=True))


def test_no_cache_build_leaves_no_scratch_files(narrate, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    essay = tmp_path / "e.md"
    essay.write_text("# T\n\nOne sentence. Two sentences.\n\n## Next\n\nThree.\n", "utf-8")
    result = narrate("build", essay, "-o", tmp_path / "e.mp3", "--no-cache", TMPDIR=str(scratch))
    assert result.code == 0, result.stderr
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "tmp") == [
        "e.chapters.json", "e.md", "e.mp3", "e.png", "e.vtt",
    ]  # fmt: skip
