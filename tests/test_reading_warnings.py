"""Words the reading leaves out are warned of by line (issue 14, narrator.text.lexicon)."""

from __future__ import annotations

import pytest
from helpers import EMERSON, SEED, THOREAU

from narrator.text.lexicon import Reading, reading_warnings
from narrator.text.parse import parse_essay
from narrator.text.source import read_source


def warnings_for(tmp_path, text: str, reading: Reading | None = None) -> list[str]:
    path = tmp_path / "essay.md"
    path.write_text(text, "utf-8")
    source = read_source(path)
    return reading_warnings(parse_essay(source), source.text, reading or Reading())


def test_a_word_in_a_script_with_no_reading_is_named_with_its_line(tmp_path) -> None:
    text = "# Words\n\nHe said hello.\n\nThen he wrote \u4e2d\u6587 twice.\n"
    assert warnings_for(tmp_path, text) == [
        "line 5: left out '\u4e2d\u6587' (no reading for its script)"
    ]


def test_a_long_nonsense_word_is_named_shortened(tmp_path) -> None:
    text = "# Words\n\nFine.\n\nThen " + "ab" * 40 + " stopped.\n"
    assert warnings_for(tmp_path, text) == [
        f"line 5: left out '{'ab' * 12}\u2026' (a 80-character word)"
    ]


def test_long_addresses_greek_and_emoji_are_read_without_warning(tmp_path) -> None:
    text = (
        "# Words\n\nSee https://example.com/" + "y" * 60 + " for more.\n\n"
        "The Greeks said \u03ba\u03bf\u03c3\u03bc\u03bf\u03c2 \U0001f600.\n"
    )
    assert warnings_for(tmp_path, text) == []


def test_a_lexicon_entry_for_the_word_silences_it(tmp_path) -> None:
    text = "# Words\n\nHe wrote \u4e2d\u6587 here.\n"
    assert warnings_for(tmp_path, text, Reading(lexicon=(("\u4e2d\u6587", "Chinese"),))) == []


@pytest.mark.parametrize("essay", [SEED, EMERSON, THOREAU], ids=lambda p: p.name)
def test_the_seed_and_corpus_essays_lose_no_word(essay) -> None:
    source = read_source(essay)
    assert reading_warnings(parse_essay(source), source.text) == []


def test_script_prints_the_warning_and_still_shows_the_script(narrate, tmp_path) -> None:
    (tmp_path / "essay.md").write_text("# Words\n\nHe wrote \u4e2d\u6587 here.\n", "utf-8")
    run = narrate("script", "essay.md")
    assert run.code == 0
    assert "He wrote here." in run.stdout
    assert "narrator: warning: essay.md line 3: left out '\u4e2d\u6587'" in run.stderr


def test_an_essay_left_with_nothing_to_say_is_a_clear_error(narrate, tmp_path) -> None:
    (tmp_path / "noise.txt").write_text("x" * 20000 + ".\n", "utf-8")
    run = narrate("build", "noise.txt", "-o", "noise.mp3")
    assert run.code == 1
    assert (
        "has nothing left to say once read ('xxxxxxxxxxxxxxxxxxxxxxxx…' is left out)" in run.stderr
    )
    assert "internal error" not in run.stderr
    assert not (tmp_path / "noise.mp3").exists()
