"""Settings layering: defaults < narrator.toml < front matter < flags, with validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from narrator.config import Overrides, find_config, load_settings
from narrator.errors import SettingsError
from narrator.speech.registry import DEFAULT_ENGINE


def essay_in(folder: Path) -> Path:
    essay = folder / "essay.md"
    essay.write_text("Prose.\n", encoding="utf-8")
    return essay


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(essay_in(tmp_path), {}, Overrides())
    assert settings.rate == DEFAULT_ENGINE.default_rate
    assert settings.pauses.sentence_ms == 500 and settings.pauses.chapter_ms == 2000
    assert (settings.audio.sample_rate, settings.audio.bitrate_kbps) == (44100, 64)


def test_layers_override_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "narrator.toml").write_text(
        'rate = 150\npitch = 40\nvoice = "gmw/en"\n[pauses]\nsentence_ms = 600\n',
        encoding="utf-8",
    )
    front = {"rate": 170, "pauses": {"paragraph_ms": 1200}, "tags": ["film"]}
    settings = load_settings(essay_in(tmp_path), front, Overrides(rate=180, voice=None))
    assert settings.rate == 180  # flag beats front matter beats file
    assert settings.pitch == 40  # from the file
    assert settings.voice == "gmw/en"  # a flag that was not given changes nothing
    assert (settings.pauses.sentence_ms, settings.pauses.paragraph_ms) == (600, 1200)


def test_config_beside_the_essay_wins_over_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = tmp_path / "cwd", tmp_path / "essays"
    here.mkdir()
    there.mkdir()
    (here / "narrator.toml").write_text("rate = 120\n", encoding="utf-8")
    (there / "narrator.toml").write_text("rate = 140\n", encoding="utf-8")
    monkeypatch.chdir(here)
    essay = essay_in(there)
    assert find_config(essay) == there / "narrator.toml"
    assert load_settings(essay, {}).rate == 140


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("rat = 150\n", "unknown setting 'rat'"),
        ("rate = 1000\n", "out of range"),
        ('rate = "fast"\n', "must be a whole number"),
        ("[pauses]\nsentence = 3\n", "unknown setting pauses.sentence"),
        ("[pauses]\nsentence_ms = -5\n", "out of range"),
        ("rate = \n", "cannot read"),
    ],
)
def test_invalid_files_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "narrator.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(essay_in(tmp_path), {}, Overrides())


def test_front_matter_ignores_other_metadata_but_checks_known_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    essay = essay_in(tmp_path)
    assert load_settings(essay, {"layout": "post", "volume": 1}).volume == 1.0
    with pytest.raises(SettingsError, match="front matter: pitch"):
        load_settings(essay, {"pitch": 500})
    # an essay may not choose which programs run or where files go
    assert load_settings(essay, {"ffmpeg": "/bin/evil", "output_dir": "/etc"}).ffmpeg is None
    # nor load a model file: a Piper voice by path is for narrator.toml and flags
    from_essay = load_settings(essay, {"voice": "/home/x/model.ONNX", "engine": "piper"})
    assert from_essay.voice != "/home/x/model.ONNX" and from_essay.engine == "piper"
    assert load_settings(essay, {"voice": "en-gb"}).voice == "en-gb"
    assert load_settings(essay, {}, Overrides(voice="/m.onnx")).voice == "/m.onnx"


def test_mp3_sample_rate_and_bitrate_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "narrator.toml").write_text("[audio]\nsample_rate = 10000\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="sample_rate = 10000 is not allowed"):
        load_settings(essay_in(tmp_path), {}, Overrides())


@pytest.mark.parametrize(
    ("rate", "bitrate", "allowed"),
    [(44100, 320, True), (22050, 160, True), (22050, 192, False), (11025, 64, True),
     (11025, 80, False), (8000, 320, False)],
)  # fmt: skip
def test_a_bitrate_mp3_does_not_allow_at_the_sample_rate_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: int, bitrate: int, allowed: bool
) -> None:
    """LAME would quietly encode a lower bitrate than the one set (64 kbps at 8 kHz)."""
    monkeypatch.chdir(tmp_path)
    audio = f"[audio]\nsample_rate = {rate}\nbitrate_kbps = {bitrate}\n"
    (tmp_path / "narrator.toml").write_text(audio, encoding="utf-8")
    if allowed:
        assert load_settings(essay_in(tmp_path), {}, Overrides()).audio.bitrate_kbps == bitrate
    else:
        with pytest.raises(SettingsError, match=f"at most (64|160) kbps at {rate} Hz"):
            load_settings(essay_in(tmp_path), {}, Overrides())
