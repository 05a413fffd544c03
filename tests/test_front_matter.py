"""Front matter: a small YAML mapping of plain data, or else not front matter at all."""

from __future__ import annotations

import pytest

from narrator.errors import InputError
from narrator.text.markdown import parse_markdown


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        # "billion laughs": nine aliases of nine aliases... grew to gigabytes
        (
            'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n"
                for i in range(8)
            ),
            "alias",
        ),
        ("a: &a [*a]\n", "alias"),  # self-referencing: a RecursionError later
        ("title: &t Walking\nalbum: *t\n", "alias"),
        ("title: !!binary aGVsbG8=\n", "tag"),
        ("title: !custom Walking\n", "tag"),
        ("rate: " + "9" * 5000 + "\n", "number"),  # int() refuses it: a ValueError
        ("title: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        ("title: Walking\n" + "k: v\n" * 20_000, "long"),
    ],
)
def test_hostile_front_matter_is_refused_in_one_line(yaml_text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_markdown(f"---\n{yaml_text}---\n\nText.\n")
    assert info.value.hint
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 300


def test_plain_front_matter_still_reads() -> None:
    essay = parse_markdown(
        "---\ntitle: 'Walking'\nauthor: \"H. D. Thoreau\"\nrate: 160\ndate: 1862-06-01\n"
        "lexicon: {Thoreau: thuh-ROH}\ntags: [a, b]\n---\n\nText.\n"
    )
    assert (essay.title, essay.author, essay.date) == ("Walking", "H. D. Thoreau", "1862-06-01")
    assert essay.front_matter["lexicon"] == {"Thoreau": "thuh-ROH"}
    assert essay.front_matter["rate"] == 160


@pytest.mark.parametrize(
    ("text", "read"),
    [
        # a rule, prose, another rule: CommonMark, not broken YAML (issue 14)
        ("---\n\nThe first part, read aloud.\n\n---\n\nThe second part.\n", "first part"),
        ("---\nA sentence: with a colon: twice.\n---\n\nThe second part.\n", "with a colon"),
        ("---\n- a list item\n- another\n---\n\nThe second part.\n", "a list item"),
    ],
)
def test_an_opening_rule_that_is_not_a_mapping_is_markdown(text: str, read: str) -> None:
    essay = parse_markdown(text)
    assert dict(essay.front_matter) == {}
    words = [essay.title, *(chapter.title for chapter in essay.chapters)]
    words += [block.text for chapter in essay.chapters for block in chapter.blocks]
    assert any(read in said for said in words)
    assert any("The second part." in said for said in words)
