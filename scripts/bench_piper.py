"""Piper's real-time factor on the seed essay: seconds of audio per second of wall clock.

`piper_rtf(root)` builds the seed essay with `--engine piper` into an empty cache folder
(a real `narrator build` subprocess, as scripts/bench.py times its builds) and returns the
figures; run this file on its own to print them. It needs the piper extra in the Python
that runs it (./scripts/test and ./scripts/quality install it into .venv).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def piper_rtf(root: Path) -> dict[str, float]:
    """Audio seconds, build and synthesis wall seconds, and their ratios (the RTFs), for a
    cold `narrator build --engine piper` of the seed essay found beside `root`."""
    from mutagen.mp3 import MP3

    seed = root.parent / "shared" / "seeds" / "000_52290ec427b70c5b.txt"
    with tempfile.TemporaryDirectory(prefix="narrator-bench-piper-") as temp:
        out = Path(temp) / "seed.mp3"
        env = {"NARRATOR_CACHE_DIR": str(Path(temp) / "cache"), "PATH": "/usr/bin:/bin"}
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "narrator", "build", str(seed), "--engine", "piper",
             "-o", str(out)],
            capture_output=True, text=True, env=env, cwd=root, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"narrator build --engine piper failed: {proc.stderr.strip()}")
        audio = MP3(out).info.length
    found = re.search(r"synthesize ([\d.]+) s", proc.stdout)
    synthesize = float(found[1]) if found else float("nan")
    return {
        "audio_s": round(audio, 1),
        "build_s": round(wall, 1),
        "synthesize_s": synthesize,
        "rtf": round(audio / wall, 1),
        "synthesis_rtf": round(audio / synthesize, 1),
    }


def main() -> None:
    figures = piper_rtf(Path(__file__).resolve().parents[1])
    print(
        f"piper on the seed essay: {figures['audio_s']} s of audio in {figures['build_s']} s"
        f" (real-time factor {figures['rtf']}; synthesis alone {figures['synthesize_s']} s,"
        f" {figures['synthesis_rtf']})"
    )


if __name__ == "__main__":
    main()
