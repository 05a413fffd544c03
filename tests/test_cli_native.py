"""The command line behaves as people expect of one: -h, ordinary help placeholders,
clean wrapping, watch taking build's options, readable doctor output, honest messages."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO

from narrator.publish.pages import index_page
from narrator.report import counted

COMMANDS = [
    [], ["build"], ["script"], ["voices"], ["doctor"], ["say"], ["watch"], ["feed"],
    ["serve"], ["lint"], ["cache"], ["cache", "info"], ["cache", "clear"],
]  # fmt: skip
ONE_CHAPTER = "# Bread\n\nThe kitchen smells of bread.\n"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "narrator")
def test_dash_h_is_help_everywhere(narrate, command: list[str]) -> None:
    short, long = narrate(*command, "-h"), narrate(*command, "--help")
    assert short.code == long.code == 0, short.stderr
    assert short.stdout == long.stdout and "Usage:" in short.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "narrator")
def test_help_has_ordinary_placeholders(narrate, command: list[str]) -> None:
    text = narrate(*command, "--help").stdout
    for typed in ("<str>", "<int>", "<path>", "<bool>", "list[", "{"):
        assert typed not in text, (typed, text)


def test_build_help_reads_like_a_command_line_tool(narrate) -> None:
    text = narrate("build", "--help").stdout
    assert "Usage: python -m narrator build [OPTIONS] ESSAYS..." in text
    for option in ("--title TEXT", "--rate INTEGER", "-o, --output PATH", "--format [mp3|m4b]"):
        assert option in text, option
    assert re.search(r"-q, --quiet +No progress", text)  # a flag takes no value


@pytest.mark.parametrize("columns", [40, 72, 200])
def test_help_wraps_to_the_terminal(narrate, columns: int) -> None:
    text = narrate("build", "--help", COLUMNS=str(columns)).stdout
    longest = max(map(len, text.splitlines()))
    assert longest <= max(columns, 50)  # words longer than a narrow line stay whole
    if columns == 200:  # paragraphs re-flow (up to 80 columns), not at the docstring's breaks
        assert "another, sharing one pool" in text and "another,\n" not in text


def test_placeholders_of_choices_and_ranges(narrate) -> None:
    assert "-f, --format [text|json]" in narrate("script", "--help").stdout  # an Enum
    assert "--port INTEGER" in narrate("serve", "--help").stdout  # a number in a range
    assert "Usage: python -m narrator say [OPTIONS] TEXT" in narrate("say", "--help").stdout


def test_watch_takes_builds_options(tmp_path: Path) -> None:
    essay = tmp_path / "bread.md"
    essay.write_text(ONE_CHAPTER, encoding="utf-8")
    out = tmp_path / "bread.m4b"
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "watch", str(essay), "-o", str(out),
         "--format", "m4b", "--no-cache"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"built {out} "), line + proc.stderr.read()
        assert "watching" in line
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=20)
    assert out.is_file() and out.read_bytes()[4:8] == b"ftyp"  # an MP4, as asked
    assert "stopped watching" in rest and "Traceback" not in err


def test_doctor_output_is_whole_lines_without_a_banner(narrate) -> None:
    result = narrate("doctor", COLUMNS="60")
    (ffmpeg,) = [line for line in result.stdout.splitlines() if "ffmpeg:" in line]
    assert "Copyright" not in result.stdout
    assert ffmpeg.startswith("ok   ffmpeg: ffmpeg version ") and ffmpeg.endswith(
        os.path.basename(ffmpeg.rsplit(" at ", 1)[1])
    )
    assert os.path.isfile(ffmpeg.rsplit(" at ", 1)[1])  # the path is whole, not split


def test_voices_for_no_language_exits_1_with_a_hint(narrate) -> None:
    result = narrate("voices", "-l", "xx")
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "narrator: no voice speaks a language starting with 'xx';"
        " run narrator voices to list every voice and its language"
    )
    assert narrate("voices", "-l", "en").code == 0


def test_one_chapter_is_singular(narrate, tmp_path: Path) -> None:
    assert (counted(1, "chapter"), counted(2, "chapter")) == ("1 chapter", "2 chapters")
    essay = tmp_path / "bread.md"
    essay.write_text(ONE_CHAPTER, encoding="utf-8")
    result = narrate("build", essay, "-o", tmp_path / "bread.mp3")
    assert result.code == 0, result.stderr
    assert re.search(r"^1 chapter, \d+ segments?, ", result.stdout, flags=re.M), result.stdout


def test_a_binary_txt_is_not_told_to_be_a_txt(narrate, tmp_path: Path) -> None:
    named_text = tmp_path / "essay.txt"
    named_text.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    result = narrate("build", named_text)
    assert result.code == 1 and "is a binary file" in result.stderr
    assert ".txt" not in result.stderr.replace(str(named_text), "")
    assert "save it as plain text" in result.stderr
    other = tmp_path / "essay.docx"
    other.write_bytes(named_text.read_bytes())
    assert "pass the essay as a .txt or .md file" in narrate("build", other).stderr


def test_serve_without_a_feed_does_not_advertise_one(tmp_path: Path) -> None:
    folder = tmp_path / "pod"
    folder.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "serve", str(folder), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert lines[0] == f"serving {folder}; no feed.xml yet, so nothing for podcast apps\n"
    assert lines[1].startswith(f"write it with: narrator feed {folder} --base-url http://")
    assert "/feed.xml" not in "".join(lines)
    assert lines[2].startswith("listen in a browser at http://127.0.0.1:")


def test_the_listening_page_shows_the_feeds_full_address() -> None:
    page = index_page("Pod", [], ["feed.xml"], "http://192.168.1.5:8000")
    assert ">http://192.168.1.5:8000/feed.xml<" in page


def test_a_first_install_prints_no_setuptools_warnings(tmp_path: Path) -> None:
    """The editable install of narrator itself, into an empty environment."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "env"], check=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(tmp_path / "env" / "bin" / "python"),
         "install", "--quiet", "--no-deps", "--disable-pip-version-check", "-e", str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "setuptools" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert time.monotonic() - started < 120
