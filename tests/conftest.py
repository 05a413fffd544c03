"""Shared fixtures: real engine, real ffmpeg, the shared corpus, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_52290ec427b70c5b.txt"
EMERSON = SHARED / "corpus" / "emerson-nature.md"
THOREAU = SHARED / "corpus" / "thoreau-civil-disobedience.md"
EXAMPLE = REPO / "examples" / "walking.md"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def narrate(tmp_path: Path):
    """Run the real `narrator` command in a fresh working directory."""

    def run(*args: str | Path, timeout: float = 300) -> Run:
        env = {**os.environ, "COLUMNS": "200"}
        env.pop("NARRATOR_DEBUG", None)
        proc = subprocess.run(
            [sys.executable, "-m", "narrator", *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


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
