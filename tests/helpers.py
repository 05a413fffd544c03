"""Paths and independent audio readers shared by the tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from mutagen.id3 import ID3

if TYPE_CHECKING:
    from narrator.model import ProgressCallback
    from narrator.pipeline import BuildResult, ChapterPlan

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"  # the texts the tests need: a clone alone passes
SEED = DATA / "000_52290ec427b70c5b.txt"  # the essay the project started from (8 chapters)
EMERSON = DATA / "emerson-nature.md"  # public-domain essays: see data/SOURCES.md
THOREAU = DATA / "thoreau-civil-disobedience.md"
EXAMPLE = REPO / "examples" / "walking.md"
SEED_HEADINGS = [
    "The Introduction: A Woman in Control of Nothing and Everything",
    "The Pact: Love Without Redemption",
    "The Performance: Fearless, Vulnerable, Unsentimental",
    "The Descent: Violence, Loneliness, and Loss",
    "The Aftermath: A Love That Outlives",
    "Elisabeth Shue\u2019s Masterpiece",
    "The Angel in the Desert",
]


def ffmpeg_exe() -> str:
    from narrator.ffmpeg import find_ffmpeg

    return find_ffmpeg()


def decode(path: Path, rate: int = 22050) -> bytes:
    """Decode an audio file to mono 16-bit PCM with ffmpeg, failing on any decode error."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-xerror", "-i", str(path), "-f", "s16le", "-ac", "1",
         "-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    )  # fmt: skip
    assert proc.stderr == b"", proc.stderr
    return proc.stdout


def ebur128_report(path: Path) -> str:
    """What ffmpeg's ebur128 filter says of a file's audio: a line per 100 ms step (its
    momentary loudness and true peak), then a summary."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-nostats", "-i", str(path), "-vn", "-af",
         "ebur128=peak=true:framelog=info", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stderr


def loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak, as ffmpeg's ebur128 filter measures them."""
    report = ebur128_report(path)
    summary = report[report.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1])
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)[1])
    return integrated, peak


def ffmetadata(path: Path) -> str:
    proc = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def build(out: Path, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", "build", *map(str, args), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=out.parent,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def chapters_of(path: Path) -> list[tuple[str, int, int]]:
    tags = ID3(path)
    chaps = {f.element_id: f for f in tags.getall("CHAP")}
    toc = tags.getall("CTOC")[0]
    return [
        (chaps[i].sub_frames["TIT2"].text[0], chaps[i].start_time, chaps[i].end_time)
        for i in toc.child_element_ids
    ]


ROOMS = """# Three Rooms

## The Kitchen

The kitchen smells of bread. A kettle waits on the stove. Nobody is in a hurry here.

## The Study

Books lean against each other on the shelves. The lamp is warm. A letter lies unfinished.

## The Garden

The gate creaks when it opens. Bees work the lavender. The evening comes slowly.
"""


def run_cached(*args: str | Path, cache: Path, cwd: Path, timeout: float = 300):
    """The real `narrator` command with its own cache folder."""
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "narrator", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def reused(stdout: str) -> tuple[int, int]:
    found = re.search(r"reused (\d+) of (\d+) segments", stdout)
    assert found, stdout
    return int(found[1]), int(found[2])


class Recorder:
    """A pipeline `Reporter` for in-process builds: keeps each result, shows nothing."""

    def __init__(self) -> None:
        self.results: list[BuildResult] = []

    def progress(self) -> AbstractContextManager[ProgressCallback | None]:
        return nullcontext(None)

    def planned(self, plans: list[ChapterPlan], target: Path) -> None:
        pass

    def built(self, result: BuildResult) -> None:
        self.results.append(result)

    def warn(self, message: str) -> None:
        print(message)


def build_cached(
    essay: Path, out: Path, cache: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`narrator build` of `essay` into `out` with its own cache folder; it must succeed."""
    result = run_cached("build", essay, "-o", out, *extra, cache=cache, cwd=essay.parent)
    assert result.returncode == 0, result.stderr
    return result


def start_watch(essay: Path, out: Path, cache: Path) -> subprocess.Popen[str]:
    """`narrator watch` of `essay` into `out` with its own cache folder, running."""
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache)}
    env.pop("NARRATOR_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "narrator", "watch", str(essay), "-o", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
