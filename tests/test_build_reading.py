"""The issue 14 examples read right in a built episode: the script says them right, the
built segments are those words, and the transcript shows what was written."""

from __future__ import annotations

import json
from pathlib import Path

ESSAY = """---
title: Reading Aloud
author: Jo Writer
---

# Reading Aloud

Call (555) 123-4567 today. My 401(k) grew. Nancy lived on 1428 Elm St. It was late.

Ben Sanderson - a man of note, arrived, and then, we left.

Dial 1-800-FLOWERS, +44 20 7946 0958 or +1 555 123 4567.

It costs $20/mo and goes 60 km/h at 12/kg.

Take 1/4, 22/7 or 3 1/2 on 2016/07/03 and/or later.

The Greeks called it \u03ba\u03bf\u03c3\u03bc\u03bf\u03c2 \U0001f600.
"""

SAID = [
    "Reading Aloud, by Jo Writer.",
    "Call five five five, one two three, four five six seven today.",
    "My four oh one k grew.",
    "Nancy lived on fourteen twenty-eight Elm Street.",
    "It was late.",
    "Ben Sanderson -",
    "a man of note, arrived, and then, we left.",
    "Dial one, eight hundred, flowers, plus four four, two zero, seven nine four six, zero"
    " nine five eight or plus one, five five five, one two three, four five six seven.",
    "It costs twenty dollars a month and goes sixty kilometers per hour at twelve per kilogram.",
    "Take one quarter, twenty-two sevenths or three and a half on July third, twenty sixteen"
    " and or later.",
    "The Greeks called it kosmos.",
]


def test_issue_examples_in_script_built_segments_and_transcript(narrate, tmp_path: Path) -> None:
    (tmp_path / "essay.md").write_text(ESSAY, "utf-8")
    script = narrate("script", "essay.md", "--format", "json")
    assert script.code == 0, script.stderr
    assert script.stderr == ""
    segments = [s for c in json.loads(script.stdout)["chapters"] for s in c["segments"]]
    assert [s["text"] for s in segments] == SAID

    built = narrate("build", "essay.md", "-o", "essay.mp3", "-j", "1")
    assert built.code == 0, built.stderr
    assert "warning" not in built.stderr
    vtt = (tmp_path / "essay.vtt").read_text("utf-8")
    cues = [" ".join(block.split("\n")[2:]) for block in vtt.strip().split("\n\n")[1:]]
    assert cues == [
        "Reading Aloud, by Jo Writer.",
        "Call (555) 123-4567 today.",
        "My 401(k) grew.",
        "Nancy lived on 1428 Elm St.",
        "It was late.",
        "Ben Sanderson - a man of note, arrived, and then, we left.",
        "Dial 1-800-FLOWERS, +44 20 7946 0958 or +1 555 123 4567.",
        "It costs $20/mo and goes 60 km/h at 12/kg.",
        "Take 1/4, 22/7 or 3 1/2 on 2016/07/03 and/or later.",
        "The Greeks called it \u03ba\u03bf\u03c3\u03bc\u03bf\u03c2 \U0001f600.",
    ]
