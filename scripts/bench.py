"""Benchmark narrator against the plain pipeline, and its rebuilds, memory and start-up.

Run through scripts/bench (which sets up .venv). Every build is a real subprocess with its
own cache folder. Cold builds alternate with the plain pipeline (scripts/plain_pipeline.py:
espeak-ng to WAV, then ffmpeg to MP3) on the same essay, so each ratio compares runs made
side by side; times are wall-clock medians of --runs runs, each beside the CPU time of its
whole process tree (getrusage of the children: narrator, its speech workers and ffmpeg, or
espeak-ng and ffmpeg), and the load average. Peak memory is the largest sum,
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
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_52290ec427b70c5b.txt"
EMERSON = SHARED / "corpus" / "emerson-nature.md"
THOREAU = SHARED / "corpus" / "thoreau-civil-disobedience.md"
# a sentence of the longest chapter (VI, Idealism), and the same sentence edited in turn
SENTENCE = "To this one end of Discipline, all parts of nature conspire."
EDITS = (
    "To this one end of Discipline, all the parts of nature conspire.",
    "To this one end of Discipline, all of the parts of nature conspire.",
    "To this one end of Discipline, every part of nature conspires.",
    "To this end of Discipline, all parts of nature conspire.",
    "To this one end, Discipline, all parts of nature conspire.",
)
CHAPTER_2 = "### CHAPTER I\n"
INSERTED = "A paragraph written today. It has two sentences.\n\n"
STAGES = ("parse", "synthesize", "assemble and encode", "join and tag")


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


class Ran(NamedTuple):
    seconds: float  # wall time
    stdout: str
    peak_mb: float  # peak PSS of the process tree, when sampled
    cpu: float  # user and system seconds of the whole process tree


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], cache: Path, sample: bool = False) -> Ran:
    """Run a command; its wall time, stdout, (if `sample`) peak tree PSS and tree CPU."""
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "COLUMNS": "200"}
    os.sync()  # what an earlier run wrote is on disk: its write-back is not timed here
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
    done.set()
    if sample:
        thread.join()
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {stderr.strip()}")
    return Ran(elapsed, stdout, peak / 1024, _children_cpu() - cpu)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def narrator(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "narrator", *map(str, args)]


def stage_seconds(stdout: str, kind: str = "time") -> dict[str, float]:
    """The build's `time:` line (wall seconds per stage) or, with `kind` "cpu", its `cpu:`
    line (CPU seconds per stage)."""
    head = f"{kind}: "
    line = next((x for x in stdout.splitlines() if x.startswith(head)), head)
    parts = line[len(head) :].split(" (")[0].split(", ")
    stages = (part.rsplit(" ", 2) for part in parts if part)
    return {name: float(seconds) for name, seconds, _ in stages}


def versus_plain(essay: Path, work: Path, runs: int) -> None:
    """Cold builds and the plain pipeline, alternating; median times and their ratio."""
    cold, plain, ratios = [], [], []
    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    cpus: dict[str, list[float]] = {name: [] for name in STAGES}
    for number in range(runs):
        cache = work / f"cache-{essay.stem}-{number}"
        cold.append(run(narrator("build", essay, "-o", work / "cold.mp3"), cache))
        for name, value in stage_seconds(cold[-1].stdout).items():
            stages.setdefault(name, []).append(value)
        for name, value in stage_seconds(cold[-1].stdout, "cpu").items():
            cpus.setdefault(name, []).append(value)
        plain_cmd = [sys.executable, str(REPO / "scripts" / "plain_pipeline.py"), str(essay),
                     str(work / "plain.mp3"), "155"]  # fmt: skip
        plain.append(run(plain_cmd, cache))
        ratios.append(cold[-1].seconds / plain[-1].seconds)
        shutil.rmtree(cache)
    median = statistics.median
    print(f"{essay.name} ({runs} runs each, alternating; medians; {_load()})")
    for name, done in (("narrator cold build", cold), ("plain pipeline", plain)):
        print(f"  {name:<24} {median(r.seconds for r in done):7.2f} s"
              f"   cpu {median(r.cpu for r in done):6.2f} s")  # fmt: skip
    ratio = median(r.seconds for r in cold) / median(r.seconds for r in plain)
    print(f"  ratio cold / plain       {ratio:7.2f}"
          f"  (per pair: {', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip
    overlap = " (synthesis and encoding overlap: both count from the build's start)"
    print("  stages of the cold build, wall and CPU:" + overlap)
    for name, values in stages.items():
        if values:
            cpu = f"   cpu {median(cpus[name]):6.2f} s" if cpus.get(name) else ""
            print(f"    {name:<22} {median(values):7.2f} s{cpu}")


def memory(work: Path) -> None:
    """Peak memory of cold builds of emerson, of a text four times as long, and of twice
    its text as one chapter (then of a rebuild of that chapter from the cache)."""
    text = EMERSON.read_text("utf-8")
    head, _, body = text.partition("\n### ")
    long_essay = work / "emerson-x4.md"
    long_essay.write_text(head + ("\n### " + body) * 4, "utf-8")
    one_chapter = work / "emerson-x2-one-chapter.md"
    paragraphs = re.sub(r"^#+ .*$", "", body.partition("\n")[2], flags=re.MULTILINE)
    one_chapter.write_text(head + "\n" + paragraphs * 2, "utf-8")
    print("peak memory of a build (whole process tree, PSS)")
    results = []
    for essay, rebuild in ((EMERSON, False), (long_essay, False), (one_chapter, True)):
        cache = work / f"cache-memory-{essay.stem}"
        for name in [essay.name, *(["  its rebuild from the cache"] if rebuild else [])]:
            command = narrator("build", essay, "-o", work / "mem.mp3")
            seconds, stdout, peak, _ = run(command, cache, True)
            found = re.search(r"(\d+) chapters?, (\d+) segments, (\d+) words, ([\d:.]+)", stdout)
            summary = f"{found[1]} chapters, {found[4]} of audio" if found else "?"
            print(f"  {name:<30} {peak:7.0f} MB  ({seconds:.1f} s; {summary})")
            results.append(peak)
        shutil.rmtree(cache)
    print(f"  four times the text: {100 * (results[1] / results[0] - 1):+.0f}% memory")


def startup(work: Path) -> None:
    """`narrator --help` and `narrator script` (cached script) wall times, medians of 5."""
    cache = work / "cache-startup"
    for label, args in (("narrator --help", ["--help"]), ("narrator script (seed)",
                                                         ["script", str(SEED)])):  # fmt: skip
        # the first run fills caches
        times = [run(narrator(*args), cache).seconds for _ in range(6)][1:]
        print(f"  {label:<24} {statistics.median(times):7.3f} s")
    shutil.rmtree(cache)


def reused(stdout: str) -> str:
    found = re.search(r"reused \d+ of \d+ segments and \d+ of \d+ encoded chapters", stdout)
    return found[0] if found else "?"


def rebuilds(work: Path, runs: int) -> None:
    """Cold build, then (medians of `runs`) unchanged rebuilds and rebuilds after a
    one-sentence edit of the longest chapter (each run edits the same sentence anew), then
    a paragraph inserted (emerson)."""
    essay = work / "emerson-nature.md"
    out = work / "out.mp3"
    cache = work / "cache-rebuild"
    shutil.copyfile(EMERSON, essay)
    text = EMERSON.read_text("utf-8")
    cold = run(narrator("build", essay, "-o", out, "-q"), cache)
    before = out.read_bytes()
    noops = [run(narrator("build", essay, "-o", out), cache) for _ in range(runs)]
    unchanged = out.read_bytes() == before
    edits = []
    for edited in (EDITS * runs)[:runs]:
        essay.write_text(text.replace(SENTENCE, edited, 1), "utf-8")
        edits.append(run(narrator("build", essay, "-o", out), cache))
    run(narrator("build", essay, "-o", work / "clean.mp3", "-q"), work / "cache-clean")
    identical = (work / "clean.mp3").read_bytes() == out.read_bytes()
    print(f"emerson-nature.md rebuilds (medians of {runs}; {_load()})")
    print(f"  cold build               {cold.seconds:7.2f} s   cpu {cold.cpu:6.2f} s")
    edited = f"in the longest chapter; the last identical to a clean build: {identical}"
    for name, done, said in (
        ("unchanged rebuild", noops, f"bytes unchanged: {unchanged}"),
        ("one sentence edited", edits, edited),
    ):
        seconds = statistics.median(r.seconds for r in done)
        cpu = statistics.median(r.cpu for r in done)
        print(f"  {name:<24} {seconds:7.2f} s   cpu {cpu:6.2f} s  = {seconds / cold.seconds:.3f}"
              f" of cold  ({said}; {reused(done[-1].stdout)})")  # fmt: skip
        print(f"    each run: {', '.join(f'{r.seconds:.2f}' for r in done)} s")
        ran = done[len(done) // 2]
        wall, stage_cpu = stage_seconds(ran.stdout), stage_seconds(ran.stdout, "cpu")
        parts = (
            f"{stage} {wall[stage]:.2f} s (cpu {stage_cpu.get(stage, 0):.2f})" for stage in wall
        )
        print("    stages of one: " + ", ".join(parts))
    inserted_text = text.replace(SENTENCE, EDITS[0], 1)
    essay.write_text(inserted_text.replace(CHAPTER_2, CHAPTER_2 + "\n" + INSERTED, 1), "utf-8")
    plan = run(narrator("build", essay, "--dry-run"), cache).stdout
    row = next(line for line in plan.splitlines() if "CHAPTER I " in line)
    inserted = run(narrator("build", essay, "-o", out), cache)
    print(f"  paragraph inserted       {inserted.seconds:7.2f} s  ({reused(inserted.stdout)})")
    print(f"    dry run, chapter 2:    {' '.join(row.split())}")
    print(f"    dry run, all:          {plan.strip().splitlines()[-1]}")


def m4b_rebuild(work: Path) -> None:
    """A cold m4b build of emerson and an unchanged rebuild (the episode from the cache)."""
    out, cache = work / "out.m4b", work / "cache-m4b"
    cold = run(narrator("build", EMERSON, "-o", out, "--format", "m4b", "-q"), cache).seconds
    before = out.read_bytes()
    noop = run(narrator("build", EMERSON, "-o", out, "--format", "m4b", "-q"), cache).seconds
    print("emerson-nature.md as m4b (one run each)")
    print(f"  cold build               {cold:7.2f} s")
    print(f"  unchanged rebuild        {noop:7.2f} s  = {100 * noop / cold:5.1f}% of cold"
          f"  (bytes unchanged: {out.read_bytes() == before})")  # fmt: skip


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


def cluster(work: Path, runs: int) -> None:
    """The corpus (both essays, one build) spoken by a local Dask cluster of two one-thread
    workers against the local pool (-j 2), cold, alternating; medians and their ratio. The
    cluster is started before the timing, as a long-lived one would be."""
    try:
        from distributed import LocalCluster
    except ImportError:
        print("cluster: the cluster extra is not installed; skipped")
        return
    corpus = work / "corpus"
    corpus.mkdir()
    for essay in (EMERSON, THOREAU):
        shutil.copyfile(essay, corpus / essay.name)
    outputs = {"pool": work / "out-pool", "cluster": work / "out-cluster"}
    for folder in outputs.values():
        folder.mkdir()
    times: dict[str, list[float]] = {"pool": [], "cluster": []}
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        extra = {"pool": ["-j", "2"], "cluster": ["--cluster", local.scheduler_address]}
        for number in range(runs):
            for how, out in outputs.items():
                cache = work / f"cache-{how}-{number}"
                command = narrator("build", corpus, "-o", out, "-q", *extra[how])
                times[how].append(run(command, cache).seconds)
                shutil.rmtree(cache)
    same = all(
        (outputs["pool"] / name).read_bytes() == (outputs["cluster"] / name).read_bytes()
        for name in ("emerson-nature.mp3", "thoreau-civil-disobedience.mp3")
    )
    median = statistics.median
    pool, spread = median(times["pool"]), median(times["cluster"])
    print(f"the corpus on a local 2-worker Dask cluster ({runs} runs each, alternating; medians)")
    print(f"  local pool (-j 2)        {pool:7.2f} s")
    print(f"  cluster (2 workers)      {spread:7.2f} s  (identical MP3s: {same})")
    print(f"  ratio cluster / pool     {spread / pool:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--only",
        choices=("plain", "memory", "startup", "rebuild", "m4b", "piper", "cluster"),
        action="append",
        help="run only these parts (repeatable; default: all)",
    )
    args = parser.parse_args()
    parts = args.only or ["plain", "memory", "startup", "rebuild", "m4b", "piper", "cluster"]
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
            rebuilds(work, max(args.runs, 5))
        if "m4b" in parts:
            m4b_rebuild(work)
        if "piper" in parts:
            piper()
        if "cluster" in parts:
            cluster(work, args.runs)


if __name__ == "__main__":
    main()
