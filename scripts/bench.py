"""Benchmark narrator against the plain pipeline, and its rebuilds, memory and start-up.

Run through scripts/bench (which sets up .venv). Every build is a real subprocess with its
own cache folder. Cold builds alternate with the plain pipeline (scripts/plain_pipeline.py:
espeak-ng to WAV, then ffmpeg to MP3) on the same essay, so each ratio compares runs made
side by side; times are wall-clock medians of --runs runs, each with the CPU time of its
whole process tree (getrusage RUSAGE_CHILDREN after each child: narrator, its speech
workers and ffmpeg, or espeak-ng and ffmpeg). Peak memory is the largest sum,
over the build's whole process tree (narrator, its speech workers and the ffmpeg
processes), of each process's proportional set size, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_52290ec427b70c5b.txt"
EMERSON = SHARED / "corpus" / "emerson-nature.md"
# a sentence of the longest chapter (VI, Idealism), and the same sentence edited
SENTENCE = "To this one end of Discipline, all parts of nature conspire."
EDITED = "To this one end of Discipline, all the parts of nature conspire."
CHAPTER_2 = "### CHAPTER I\n"
INSERTED = "A paragraph written today. It has two sentences.\n\n"


def _tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _pss_kb(pid: int) -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    return int(found[1]) if found else 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


LAST_CPU = [0.0]  # CPU seconds of the last command's whole process tree


def run(cmd: list[str], cache: Path, sample: bool = False) -> tuple[float, str, float]:
    """Run a command; return its wall time, stdout and (if `sample`) peak tree PSS in MB.
    Its process tree's CPU time is left in LAST_CPU."""
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "COLUMNS": "200"}
    peak = 0
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    done = threading.Event()

    def sampler() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, sum(_pss_kb(pid) for pid in _tree(proc.pid)))

    thread = threading.Thread(target=sampler, daemon=True)
    if sample:
        thread.start()
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - started
    LAST_CPU[0] = _children_cpu() - cpu
    done.set()
    if sample:
        thread.join()
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {stderr.strip()}")
    return elapsed, stdout, peak / 1024


def narrator(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "narrator", *map(str, args)]


def stage_seconds(stdout: str) -> dict[str, tuple[float, float | None]]:
    """Each stage's wall and CPU seconds from the build's `time:` line."""
    line = next((x for x in stdout.splitlines() if x.startswith("time: ")), "time: ")
    found = re.findall(r"([a-zA-Z ]+?) ([\d.]+) s(?: \(cpu ([\d.]+) s\))?(?:, |$)", line[6:])
    return {name: (float(wall), float(cpu) if cpu else None) for name, wall, cpu in found}


def versus_plain(essay: Path, work: Path, runs: int) -> None:
    """Cold builds and the plain pipeline, alternating; median times and their ratio."""
    cold, plain, ratios, cold_cpu, plain_cpu = [], [], [], [], []
    stages: dict[str, list[tuple[float, float | None]]] = {}
    for number in range(runs):
        cache = work / f"cache-{essay.stem}-{number}"
        seconds, stdout, _ = run(narrator("build", essay, "-o", work / "cold.mp3"), cache)
        cold.append(seconds)
        cold_cpu.append(LAST_CPU[0])
        for name, value in stage_seconds(stdout).items():
            stages.setdefault(name, []).append(value)
        plain_cmd = [sys.executable, str(REPO / "scripts" / "plain_pipeline.py"), str(essay),
                     str(work / "plain.mp3"), "155"]  # fmt: skip
        plain.append(run(plain_cmd, cache)[0])
        plain_cpu.append(LAST_CPU[0])
        ratios.append(cold[-1] / plain[-1])
        shutil.rmtree(cache)
    median = statistics.median
    print(f"{essay.name} ({runs} runs each, alternating; medians; load {os.getloadavg()[0]:.1f})")
    print(f"  narrator cold build      {median(cold):7.2f} s   cpu {median(cold_cpu):7.2f} s")
    print(f"  plain pipeline           {median(plain):7.2f} s   cpu {median(plain_cpu):7.2f} s")
    print(f"  ratio cold / plain       {median(cold) / median(plain):7.2f}"
          f"  (per pair: {', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip
    print("  stages of the cold build (wall, and CPU with the speech workers'):")
    for name, values in stages.items():
        cpus = [cpu for _, cpu in values if cpu is not None]
        cpu_text = f"   cpu {median(cpus):7.2f} s" if cpus else ""
        print(f"    {name:<22} {median(wall for wall, _ in values):7.2f} s{cpu_text}")


def memory(work: Path) -> None:
    """Peak memory of cold builds of emerson and of a text four times as long."""
    text = EMERSON.read_text("utf-8")
    head, _, body = text.partition("\n### ")
    long_essay = work / "emerson-x4.md"
    long_essay.write_text(head + ("\n### " + body) * 4, "utf-8")
    print("peak memory of a cold build (whole process tree, PSS)")
    results = []
    for essay in (EMERSON, long_essay):
        cache = work / f"cache-memory-{essay.stem}"
        seconds, stdout, peak = run(narrator("build", essay, "-o", work / "mem.mp3"), cache, True)
        found = re.search(r"(\d+) chapters, (\d+) segments, (\d+) words, ([\d:.]+)", stdout)
        summary = f"{found[2]} segments, {found[4]} of audio" if found else "?"
        print(f"  {essay.name:<24} {peak:7.0f} MB  ({seconds:.1f} s; {summary})")
        results.append(peak)
        shutil.rmtree(cache)
    print(f"  four times the text: {100 * (results[1] / results[0] - 1):+.0f}% memory")


def startup(work: Path) -> None:
    """`narrator --help` and `narrator script` (cached script) wall times, medians of 5."""
    cache = work / "cache-startup"
    for label, args in (("narrator --help", ["--help"]), ("narrator script (seed)",
                                                         ["script", str(SEED)])):  # fmt: skip
        times = [run(narrator(*args), cache)[0] for _ in range(6)][1:]  # the first fills caches
        print(f"  {label:<24} {statistics.median(times):7.3f} s")
    shutil.rmtree(cache)


def reused(stdout: str) -> str:
    found = re.search(r"reused \d+ of \d+ segments and \d+ of \d+ encoded chapters", stdout)
    return found[0] if found else "?"


def rebuilds(work: Path) -> None:
    """Cold build, unchanged rebuild, one sentence of the longest chapter edited, a
    paragraph inserted (emerson)."""
    essay = work / "emerson-nature.md"
    out = work / "out.mp3"
    cache = work / "cache-rebuild"
    shutil.copyfile(EMERSON, essay)
    cold = run(narrator("build", essay, "-o", out, "-q"), cache)[0]
    cold_cpu = LAST_CPU[0]
    before = out.read_bytes()
    noop, stdout, _ = run(narrator("build", essay, "-o", out), cache)
    noop_cpu = LAST_CPU[0]
    unchanged, noop_reuse = out.read_bytes() == before, reused(stdout)
    essay.write_text(EMERSON.read_text("utf-8").replace(SENTENCE, EDITED, 1), "utf-8")
    edit, stdout, _ = run(narrator("build", essay, "-o", out), cache)
    edit_cpu, edit_reuse = LAST_CPU[0], reused(stdout)
    run(narrator("build", essay, "-o", work / "clean.mp3", "-q"), work / "cache-clean")
    identical = (work / "clean.mp3").read_bytes() == out.read_bytes()
    print(f"emerson-nature.md rebuilds (one run each; load {os.getloadavg()[0]:.1f})")
    print(f"  cold build               {cold:7.2f} s   cpu {cold_cpu:6.2f} s")
    print(f"  unchanged rebuild        {noop:7.2f} s   cpu {noop_cpu:6.2f} s"
          f"  ratio {noop / cold:.3f} of cold"
          f"  (bytes unchanged: {unchanged}; {noop_reuse})")  # fmt: skip
    print(f"  one sentence edited      {edit:7.2f} s   cpu {edit_cpu:6.2f} s"
          f"  ratio {edit / cold:.3f} of cold  (in the longest chapter;"
          f" identical to a clean build: {identical}; {edit_reuse})")  # fmt: skip
    text = EMERSON.read_text("utf-8").replace(SENTENCE, EDITED, 1)
    essay.write_text(text.replace(CHAPTER_2, CHAPTER_2 + "\n" + INSERTED, 1), "utf-8")
    _, plan, _ = run(narrator("build", essay, "--dry-run"), cache)
    row = next(line for line in plan.splitlines() if "CHAPTER I " in line)
    seconds, stdout, _ = run(narrator("build", essay, "-o", out), cache)
    print(f"  paragraph inserted       {seconds:7.2f} s  ({reused(stdout)})")
    print(f"    dry run, chapter 2:    {' '.join(row.split())}")
    print(f"    dry run, all:          {plan.strip().splitlines()[-1]}")


def piper() -> None:
    """The neural engine's real-time factor on the seed essay (scripts/bench_piper.py)."""
    import importlib.util

    if importlib.util.find_spec("piper") is None:
        print("piper: the piper extra is not installed; skipped")
        return
    sys.path.insert(0, str(REPO / "scripts"))
    from bench_piper import piper_rtf

    found = piper_rtf(REPO)
    print(
        f"piper on the seed essay: {found['audio_s']} s of audio in {found['build_s']} s,"
        f" real-time factor {found['rtf']} (synthesis alone {found['synthesis_rtf']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--only",
        choices=("plain", "memory", "startup", "rebuild", "piper"),
        action="append",
        help="run only these parts (repeatable; default: all)",
    )
    args = parser.parse_args()
    parts = args.only or ["plain", "memory", "startup", "rebuild", "piper"]
    print(f"narrator bench, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory(prefix="narrator-bench-") as folder:
        work = Path(folder)
        if "plain" in parts:
            for essay in (SEED, EMERSON):
                versus_plain(essay, work, args.runs)
        if "memory" in parts:
            memory(work)
        if "startup" in parts:
            print("start-up (medians of 5)")
            startup(work)
        if "rebuild" in parts:
            rebuilds(work)
        if "piper" in parts:
            piper()


if __name__ == "__main__":
    main()
