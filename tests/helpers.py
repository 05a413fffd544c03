"""Paths and independent audio readers shared by the tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def ffmetadata(path: Path) -> str:
    proc = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout
