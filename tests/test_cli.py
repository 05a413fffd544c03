"""The command line: help everywhere, exit codes, one-line errors, nothing left behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLE, SEED, ffmpeg_exe

COMMANDS = ["build", "script", "voices", "doctor"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(narrate, command: str) -> None:
    result = narrate(command, "--help")
    assert result.code == 0
    assert "Usage" in result.stdout and len(result.stdout.splitlines()) > 3


def test_usage_errors_exit_2(narrate) -> None:
    assert narrate("build").code == 2
    assert narrate("no-such-command").code == 2
    assert narrate("build", "x.md", "--rate", "fast").code == 2


def _refused(result, tmp_path: Path, before: set[Path]) -> None:
    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("narrator: "), result.stderr
    assert result.stdout == ""
    after = set(tmp_path.rglob("*"))
    assert after == before, after - before  # no partial or temporary file left


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\t\r\n   \n", "only whitespace"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("latin1.txt", "Caf\u00e9 au lait, tr\u00e8s bien.".encode("latin-1"), "UTF-8"),
        ("headings.md", b"# Title\n\n## One\n\n## Two\n", "no prose"),
    ],
)
def test_bad_essays_are_refused_in_one_line(
    narrate, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    essay = tmp_path / name
    essay.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    before = set(tmp_path.rglob("*"))
    result = narrate("build", essay, "-o", out)
    _refused(result, tmp_path, before)
    assert message.lower() in result.stderr.lower()
    assert essay.read_bytes() == content  # the essay is never modified


def test_missing_path_and_directory_are_refused(narrate, tmp_path: Path) -> None:
    before = set(tmp_path.rglob("*"))
    _refused(narrate("build", tmp_path / "nope.md"), tmp_path, before)
    (tmp_path / "folder").mkdir()
    before = set(tmp_path.rglob("*"))
    _refused(narrate("build", tmp_path / "folder"), tmp_path, before)


def test_missing_output_folder_is_refused(narrate, tmp_path: Path) -> None:
    essay = tmp_path / "essay.md"
    essay.write_text("# T\n\nSome prose to read.\n", encoding="utf-8")
    before = set(tmp_path.rglob("*"))
    result = narrate("build", essay, "-o", tmp_path / "missing" / "out.mp3")
    _refused(result, tmp_path, before)
    assert "does not exist" in result.stderr


def test_bad_setting_in_narrator_toml_is_refused(narrate, tmp_path: Path) -> None:
    essay = tmp_path / "essay.md"
    essay.write_text("Some prose to read.\n", encoding="utf-8")
    (tmp_path / "narrator.toml").write_text("rate = 1000\n", encoding="utf-8")
    before = set(tmp_path.rglob("*"))
    result = narrate("build", essay)
    _refused(result, tmp_path, before)
    assert "rate" in result.stderr


def test_unknown_voice_is_refused(narrate, tmp_path: Path) -> None:
    essay = tmp_path / "essay.txt"
    essay.write_text("Some prose to read.\n", encoding="utf-8")
    before = set(tmp_path.rglob("*"))
    result = narrate("build", essay, "--voice", "klingon")
    _refused(result, tmp_path, before)
    assert "unknown voice" in result.stderr and "narrator voices" in result.stderr


def test_failed_build_keeps_the_previous_good_file(narrate, tmp_path: Path) -> None:
    essay = tmp_path / "essay.txt"
    essay.write_text("A first version.\n", encoding="utf-8")
    out = tmp_path / "essay.mp3"
    assert narrate("build", essay, "-o", out, "-q").code == 0
    good = out.read_bytes()
    result = narrate("build", essay, "-o", out, "--voice", "klingon")
    assert result.code == 1
    assert out.read_bytes() == good


def test_default_output_goes_to_audio_folder(narrate, tmp_path: Path) -> None:
    result = narrate("build", EXAMPLE)
    assert result.code == 0, result.stderr
    assert (tmp_path / "audio" / "walking.mp3").is_file()
    assert "wrote audio/walking.mp3" in result.stdout
    assert "The First Mile" in result.stdout  # the summary table


def test_script_json_is_exactly_what_will_be_spoken(narrate) -> None:
    result = narrate("script", EXAMPLE, "--format", "json")
    assert result.code == 0, result.stderr
    script = json.loads(result.stdout)
    assert set(script) == {"title", "author", "chapters"}
    assert script["title"] == "On Walking Slowly"
    segments = [s for chapter in script["chapters"] for s in chapter["segments"]]
    assert all(set(s) == {"text", "pause_ms", "emphasis", "style", "display"} for s in segments)
    texts = " ".join(s["text"] for s in segments)
    assert "<break" not in texts and "**" not in texts
    assert any(s["emphasis"] == "strong" and s["text"].startswith("slowly") for s in segments)
    before_break = next(s for s in segments if s["text"].endswith("the ground is soft."))
    assert before_break["pause_ms"] == 1500


def test_script_text_is_readable(narrate) -> None:
    result = narrate("script", EXAMPLE)
    assert result.code == 0
    assert "The First Mile" in result.stdout


def test_voices_lists_english(narrate) -> None:
    result = narrate("voices", "--language", "en")
    assert result.code == 0
    assert "gmw/en-us" in result.stdout


def test_doctor_reports_engine_and_ffmpeg(narrate) -> None:
    result = narrate("doctor")
    assert result.code == 0, result.stdout + result.stderr
    for name in ("espeak-ng", "pyttsx3", "test phrase", "ffmpeg", "mp3 encoder"):
        assert name in result.stdout


def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path: Path, fresh_cache: Path) -> None:
    """An empty cache, so the build is still speaking when Ctrl-C comes (a cached
    emerson rebuild would be done in about a second)."""
    import signal
    import subprocess
    import sys
    import time

    from helpers import EMERSON

    essay = tmp_path / "long.md"
    essay.write_bytes(EMERSON.read_bytes())
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "build", str(essay), "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.md"]


@pytest.mark.parametrize(
    ("variable", "message"),
    [("NARRATOR_FFMPEG", "ffmpeg"), ("NARRATOR_ESPEAK_LIBRARY", "espeak-ng library")],
)
def test_missing_dependency_exits_3(narrate, tmp_path: Path, variable: str, message: str) -> None:
    essay = tmp_path / "essay.txt"
    essay.write_text("Some prose to read.\n", encoding="utf-8")
    result = narrate("build", essay, **{variable: str(tmp_path / "not-there")})
    assert result.code == 3, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "audio").exists()


def test_script_reads_numbers_dates_money_and_abbreviations_as_a_narrator(
    narrate, tmp_path: Path
) -> None:
    essay = tmp_path / "mixed.md"
    essay.write_text(
        "On May 3rd, 1995, Dr. Smith paid $5.50 (about 50% of 11) at 10:30 pm for 3/4 "
        "of a 5 km walk on 2024-03-14 & said: see https://example.com/walks, e.g. No. 5.\n\n"
        "Henry VIII loved the 1990s; World War II ended in the 20th century.\n",
        encoding="utf-8",
    )
    result = narrate("script", essay, "--format", "json")
    assert result.code == 0, result.stderr
    spoken = " ".join(
        s["text"] for c in json.loads(result.stdout)["chapters"] for s in c["segments"]
    )
    for reading in (
        "May third, nineteen ninety-five",
        "Doctor Smith",
        "five dollars and fifty cents",
        "fifty percent",
        "ten thirty PM",
        "three quarters",
        "five kilometers",
        "March fourteenth, twenty twenty-four",
        "example dot com slash walks",
        "for example",
        "Number five",
        "Henry the Eighth",
        "nineteen nineties",
        "World War Two",
        "twentieth century",
    ):
        assert reading in spoken, reading
    assert not re.search(r"[0-9$%&@#/<>*_]", spoken), spoken


def test_a_folder_of_essays_builds_each_into_the_output_folder(narrate, tmp_path: Path) -> None:
    essays = tmp_path / "essays"
    essays.mkdir()
    (essays / "one.md").write_text("# One\n\nThe first essay is short.\n", encoding="utf-8")
    (essays / "two.txt").write_text("The second one is shorter.\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    result = narrate("build", essays, "-o", out, "-q")
    assert result.code == 0, result.stderr
    assert {p.name for p in out.glob("*.mp3")} == {"one.mp3", "two.mp3"}
    refused = narrate("build", essays, "-o", tmp_path / "single.mp3")
    assert refused.code == 1 and "output folder" in refused.stderr


_LIGHT = """
import sys
from narrator.cli import main
sys.argv = ["narrator", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = ["pyttsx3", "pydub", "mutagen", "PIL", "multiprocessing", "qrcode", "pysbd"]
print("heavy:", *[name for name in heavy if name in sys.modules], file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["script", str(SEED)], ["script", "--help"]])
def test_commands_that_make_no_audio_import_no_audio_libraries(args: list[str]) -> None:
    # the script of the seed is cached first, as it is after any build
    subprocess.run([sys.executable, "-m", "narrator", "script", str(SEED)], capture_output=True)
    proc = subprocess.run(
        [sys.executable, "-c", _LIGHT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        check=True,
    )
    assert proc.stderr.strip().splitlines()[-1] == "heavy:", proc.stderr


_REBUILD = """
import sys
from narrator.cli import main
sys.argv = ["narrator", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
unneeded = ["PIL.Image", "rich", "num2words", "numpy", "lameenc", "soxr"]
print("loaded:", *[name for name in unneeded if name in sys.modules], file=sys.stderr)
"""


def test_an_unchanged_rebuild_loads_no_library_it_does_not_need(
    essay: Path, tmp_path: Path, fresh_cache: Path
) -> None:
    """Pillow draws the cover, rich draws progress, num2words reads numbers and numpy,
    lameenc and soxr encode: a quiet rebuild from the cache needs none of them (they took
    0.3 s to import)."""
    out = tmp_path / "rooms.mp3"
    args = ["build", str(essay), "-o", str(out), "-q"]
    subprocess.run([sys.executable, "-m", "narrator", *args], capture_output=True, check=True)
    proc = subprocess.run(
        [sys.executable, "-c", _REBUILD, *args], capture_output=True, text=True, check=True
    )
    assert proc.stderr.strip().splitlines()[-1] == "loaded:", proc.stderr


def test_verbose_logs_commands_cache_and_library(
    narrate, tmp_path: Path, fresh_cache: Path
) -> None:
    """-v shows a maintainer what a build ran: each ffmpeg command line, whole (here the
    voice's loudness), each MP3 encoding, cache misses then hits, and the espeak-ng
    library in use."""
    essay = tmp_path / "short.md"
    essay.write_text("# Short\n\nOne sentence here.\n", encoding="utf-8")
    first = narrate("-v", "build", essay, "-o", tmp_path / "a.mp3", "-q")
    assert first.code == 0, first.stderr
    logged = first.stderr
    assert re.search(r"^narrator: narrator\.ffmpeg: run: \S*ffmpeg\S* .*ebur128", logged, re.M)
    assert re.search(r"^narrator: narrator\.audio\.mp3encode: encode: lameenc ", logged, re.M)
    assert "cache miss: segments" in first.stderr
    assert re.search(r"espeak-ng library: \S+ \((bundled|system|configured)\)", first.stderr)
    again = narrate("-v", "build", essay, "-o", tmp_path / "b.mp3", "-q")
    assert "cache hit: chapters" in again.stderr
    quiet = narrate("build", essay, "-o", tmp_path / "c.mp3", "-q")
    assert quiet.stderr == ""


def test_a_rebuild_starts_no_ffmpeg_until_the_binary_changes(
    narrate, essay: Path, tmp_path: Path, fresh_cache: Path
) -> None:
    """The ffmpeg found and its version are remembered (kind `tools`) for as long as the
    binary is the same file: finding and asking started ffmpeg twice a build."""
    calls = tmp_path / "calls"
    logging_ffmpeg = tmp_path / "ffmpeg"
    logging_ffmpeg.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {ffmpeg_exe()} "$@"\n')
    logging_ffmpeg.chmod(0o755)
    out = tmp_path / "rooms.mp3"
    args = ("build", essay, "-o", out, "-q")
    assert narrate(*args, NARRATOR_FFMPEG=str(logging_ffmpeg)).code == 0
    cold = calls.read_text().splitlines()
    assert any(line.endswith("-version") for line in cold)
    assert narrate(*args, NARRATOR_FFMPEG=str(logging_ffmpeg)).code == 0
    assert calls.read_text().splitlines() == cold  # nothing more ran
    logging_ffmpeg.write_text(logging_ffmpeg.read_text() + "# another build of it\n")
    assert narrate(*args, NARRATOR_FFMPEG=str(logging_ffmpeg)).code == 0
    again = calls.read_text().splitlines()[len(cold) :]
    assert len(again) == 1 and again[0].endswith("-version")  # asked again
