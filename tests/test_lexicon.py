"""The pronunciation lexicon and how it reaches the script, the cache and `say`."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from narrator.config import load_settings
from narrator.errors import SettingsError
from narrator.text.lexicon import Reading, apply_lexicon

LEXICON = (("Shue", "Shoo"), ("New York", "Noo York"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Shue smiled.", "Shoo smiled."),
        ("Shue\u2019s work", "Shoo\u2019s work"),  # a possessive is still the word
        ("Shuester and shue", "Shuester and shue"),  # whole words, case-sensitive
        ("New York, New Jersey", "Noo York, New Jersey"),
    ],
)
def test_lexicon_replaces_whole_case_sensitive_words(text: str, expected: str) -> None:
    assert apply_lexicon(text, LEXICON) == expected


def test_lexicon_comes_before_normalization() -> None:
    reading = Reading(lexicon=(("C3PO", "see three pee oh"),))
    assert reading("C3PO and R2").startswith("see three pee oh and")


def test_lexicon_layers_from_file_and_front_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    essay = tmp_path / "e.md"
    essay.write_text("Prose.\n", encoding="utf-8")
    (tmp_path / "narrator.toml").write_text(
        '[lexicon]\n"Shue" = "Shoo"\n"Cage" = "Kayj"\n', encoding="utf-8"
    )
    settings = load_settings(essay, {"lexicon": {"Cage": "Cayge", "Figgis": "Figgiss"}})
    assert dict(settings.lexicon) == {"Shue": "Shoo", "Cage": "Cayge", "Figgis": "Figgiss"}
    with pytest.raises(SettingsError, match="lexicon must map words"):
        load_settings(essay, {"lexicon": ["Shue"]})


def test_a_lexicon_entry_changes_that_word_and_nothing_else(narrate, tmp_path: Path) -> None:
    essay = tmp_path / "essay.md"
    essay.write_text(
        "# On Shue\n\nShue plays Sera. The film is quiet.\n\nNobody else is named.\n",
        encoding="utf-8",
    )
    before = json.loads(narrate("script", essay, "--format", "json").stdout)
    (tmp_path / "narrator.toml").write_text('[lexicon]\n"Shue" = "Shoo"\n', encoding="utf-8")
    after = json.loads(narrate("script", essay, "--format", "json").stdout)
    old = [s["text"] for c in before["chapters"] for s in c["segments"]]
    new = [s["text"] for c in after["chapters"] for s in c["segments"]]
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [("On Shue.", "On Shoo."), ("Shue plays Sera.", "Shoo plays Sera.")]
    assert before["title"] == after["title"] == "On Shue"  # the tag keeps the written title


def test_lexicon_change_resynthesizes_only_sentences_with_the_word(
    narrate, tmp_path: Path, fresh_cache: Path
) -> None:
    essay = tmp_path / "essay.md"
    essay.write_text("Shue plays Sera. The film is quiet. It ends.\n", encoding="utf-8")
    assert narrate("build", essay, "-o", tmp_path / "a.mp3", "-q").code == 0
    (tmp_path / "narrator.toml").write_text('[lexicon]\n"Shue" = "Shoo"\n', encoding="utf-8")
    plan = narrate("build", essay, "--dry-run").stdout
    assert "would synthesize 1 and reuse 2 of 3 segments" in plan


def test_say_writes_a_wav_of_the_spoken_text(narrate, tmp_path: Path) -> None:
    (tmp_path / "narrator.toml").write_text('[lexicon]\n"Shue" = "Shoo"\n', encoding="utf-8")
    result = narrate("say", "Shue in 1995", "-o", "shue.wav")
    assert result.code == 0, result.stderr
    assert "said “Shoo in nineteen ninety-five” into shue.wav" in result.stdout
    with wave.open(str(tmp_path / "shue.wav")) as wav:
        assert wav.getnframes() / wav.getframerate() > 0.5


def test_say_refuses_an_unknown_format(narrate, tmp_path: Path) -> None:
    result = narrate("say", "hello", "-o", "hello.ogg")
    assert result.code == 1 and "not .wav or .mp3" in result.stderr
    assert not (tmp_path / "hello.ogg").exists()
