"""Benchmark narrator's builds: cold, after an edit, unchanged, and after an insertion.

Run through scripts/bench (which sets up .venv). Every build is a real `narrator build`
subprocess with its own cache folder; times are wall-clock medians of --runs runs, and
ratios are taken between builds measured side by side in this one run.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EMERSON = SHARED / "corpus" / "emerson-nature.md"
SENTENCE = "Undoubtedly we have no questions to ask which are unanswerable."
EDITED = "Undoubtedly we have no questions at all to ask which are unanswerable."
CHAPTER_2 = "### CHAPTER I\n"
INSERTED = "A paragraph written today. It has two sentences.\n\n"


def narrator(*args: str | Path, cache: Path) -> tuple[float, str]:
    env = {"NARRATOR_CACHE_DIR": str(cache), "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=REPO, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"bench: narrator {' '.join(map(str, args))} failed: {proc.stderr.strip()}")
    return elapsed, proc.stdout


def reused(stdout: str) -> str:
    found = re.search(r"reused \d+ of \d+ segments and \d+ of \d+ encoded chapters", stdout)
    return found[0] if found else "?"


def rebuild_bench(work: Path, runs: int) -> None:
    essay = work / "emerson-nature.md"
    out = work / "out.mp3"
    cold, noop, edit = [], [], []
    for run in range(runs):
        cache = work / f"cache-{run}"
        shutil.copyfile(EMERSON, essay)
        cold.append(narrator("build", essay, "-o", out, "-q", cache=cache)[0])
        before = out.read_bytes()
        seconds, stdout = narrator("build", essay, "-o", out, cache=cache)
        noop.append(seconds)
        unchanged = out.read_bytes() == before
        noop_reuse = reused(stdout)
        essay.write_text(EMERSON.read_text("utf-8").replace(SENTENCE, EDITED, 1), "utf-8")
        seconds, stdout = narrator("build", essay, "-o", out, cache=cache)
        edit.append(seconds)
        edit_reuse = reused(stdout)
        clean = work / "clean.mp3"
        narrator("build", essay, "-o", clean, "-q", cache=work / f"clean-cache-{run}")
        identical = clean.read_bytes() == out.read_bytes()
    t0, t1, t2 = (statistics.median(x) for x in (cold, noop, edit))
    print(f"emerson-nature.md ({runs} run(s), medians)")
    print(f"  cold build               {t0:7.2f} s")
    print(f"  unchanged rebuild        {t1:7.2f} s  = {100 * t1 / t0:5.1f}% of cold"
          f"  (bytes unchanged: {unchanged}; {noop_reuse})")  # fmt: skip
    print(f"  one sentence edited      {t2:7.2f} s  = {100 * t2 / t0:5.1f}% of cold"
          f"  (identical to a clean build: {identical}; {edit_reuse})")  # fmt: skip
    text = EMERSON.read_text("utf-8").replace(SENTENCE, EDITED, 1)
    essay.write_text(text.replace(CHAPTER_2, CHAPTER_2 + "\n" + INSERTED, 1), "utf-8")
    _, plan = narrator("build", essay, "--dry-run", cache=work / f"cache-{runs - 1}")
    row = next(line for line in plan.splitlines() if "CHAPTER I " in line)
    seconds, stdout = narrator("build", essay, "-o", out, cache=work / f"cache-{runs - 1}")
    print(f"  paragraph inserted       {seconds:7.2f} s  ({reused(stdout)})")
    print(f"    dry run, chapter 2:    {' '.join(row.split())}")
    print(f"    dry run, all:          {plan.strip().splitlines()[-1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1, help="runs per measurement (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="narrator-bench-") as work:
        rebuild_bench(Path(work), args.runs)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of any one narrator process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
