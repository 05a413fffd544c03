"""Render results for people: progress, the build summary, voices and doctor checks.

rich is imported by the functions that draw with it (about 60 ms), so a quiet build never
loads it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.cache import CacheInfo
from narrator.model import Check, ProgressCallback, clock
from narrator.speech.engine import VoiceInfo

if TYPE_CHECKING:
    from rich.progress import TaskID

    from narrator.pipeline import BuildResult, ChapterPlan

_PLAIN_EVERY_S = 5.0  # how often to print a progress line when stderr is not a terminal


def counted(count: int, noun: str) -> str:
    """E.g. "1 chapter", "2 chapters"."""
    return f"{count} {noun}{'s' * (count != 1)}"


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A progress callback: rich bars on a terminal, a line every few seconds otherwise."""
    if not enabled:
        yield None
        return
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("{task.description:<13}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        tasks: dict[str, TaskID] = {}

        def show(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        with bar:
            yield show
        return
    last = 0.0

    def plain(stage: str, done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done == total or now - last >= _PLAIN_EVERY_S:
            last = now
            print(f"{stage}: {100 * done // max(total, 1)}%", file=sys.stderr)

    yield plain


class BuildReporter:
    """What `narrator build` shows: progress while it works, a summary per essay."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def progress(self) -> AbstractContextManager[ProgressCallback | None]:
        return progress_reporter(enabled=not self.quiet)

    def planned(self, plans: list[ChapterPlan], target: Path) -> None:
        render_plan(plans, target)

    def built(self, result: BuildResult) -> None:
        if not self.quiet:
            render_build(result)

    def warn(self, message: str) -> None:
        """Warnings show even with --quiet: they name something the listener will miss."""
        print(f"narrator: {message}", file=sys.stderr)


def render_build(result: BuildResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=result.title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("chapter")
    table.add_column("start", justify="right")
    table.add_column("duration", justify="right")
    for number, mark in enumerate(result.timeline.chapters, 1):
        table.add_row(
            str(number), mark.title, clock(mark.start_ms), clock(mark.end_ms - mark.start_ms)
        )
    console.print(table)
    minutes = result.timeline.duration_ms / 60000
    console.print(
        f"{counted(len(result.timeline.chapters), 'chapter')}, "
        f"{counted(result.segments, 'segment')}, {counted(result.words, 'word')}, "
        f"{clock(result.timeline.duration_ms)} "
        f"({result.words / minutes:.0f} words per minute)"
        if minutes
        else "empty episode"
    )
    console.print(
        f"reused {result.reused_segments} of {result.segments} segments"
        f" and {result.reused_chapters} of {len(result.timeline.chapters)} encoded chapters"
    )
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.stage_seconds.items())
    console.print(f"time: {stages}")
    cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.stage_cpu.items())
    console.print(f"cpu: {cpu} (synthesize: the speech workers; the rest: narrator and ffmpeg)")
    console.print(f"took {result.seconds:.1f} s (synthesis and encoding run at once)")
    if result.cluster_workers is not None:
        console.print(f"cluster workers that spoke: {result.cluster_workers}")
    if result.up_to_date:
        console.print(f"up to date: {result.output} and its sidecars (nothing changed)")
        return
    console.print(f"wrote {result.output}")
    for sidecar in result.sidecars:
        console.print(f"wrote {sidecar}")


def render_plan(plans: list[ChapterPlan], target: Path) -> None:
    """The --dry-run report: per chapter, segments to synthesize and to reuse."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"dry run: {target} (nothing written)", title_justify="left")
    for column in ("#", "chapter", "synthesize", "reuse"):
        table.add_column(column, justify="left" if column == "chapter" else "right")
    for number, plan in enumerate(plans, 1):
        table.add_row(str(number), plan.title, str(plan.synthesize), str(plan.reuse))
    console = Console()
    console.print(table)
    reuse = sum(p.reuse for p in plans)
    total = reuse + sum(p.synthesize for p in plans)
    console.print(f"would synthesize {total - reuse} and reuse {reuse} of {total} segments")


def render_cache_info(info: CacheInfo) -> None:
    mb = 1024 * 1024
    print(f"cache:   {info.path}")
    print(f"entries: {info.entries}")
    print(f"size:    {info.size_bytes / mb:.1f} MB of {info.max_bytes / mb:.0f} MB")


def render_voices(voices: list[VoiceInfo]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in ("engine", "id", "name", "language", "gender"):
        table.add_column(column)
    for voice in voices:
        languages = ", ".join(voice.languages)
        table.add_row(voice.engine, voice.id, voice.name, languages, voice.gender or "")
    Console().print(table)
    print(
        f"{len(voices)} voices; use one with --voice ID (and --engine ENGINE for a piper"
        ' voice), or `voice = "ID"` and `engine = "ENGINE"` in narrator.toml'
    )


def render_checks(checks: list[Check]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(soft_wrap=True)  # one line per check: no breaks inside a path
    for check in checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {check.name}: {escape(check.detail)}", highlight=False)
