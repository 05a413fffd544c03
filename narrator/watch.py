"""`narrator watch`: rebuild whenever the essay or its settings file is saved.

Polling (a few stat calls every quarter second) works the same on every platform and
file system, and editors that save by renaming a new file over the old one are seen too.
Changes are debounced: a rebuild starts once the files have been quiet for a moment, so
an editor's several writes during one save give one rebuild.

One bad save never ends the watch: whatever a rebuild raises (short of Ctrl-C) is
reported, and the next save is built as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from narrator.model import Script

Stamp = tuple[tuple[str, int, int], ...]

POLL_S = 0.25
SETTLE_S = 0.5


def stamp(paths: Sequence[Path]) -> Stamp:
    """What the files look like now (modification time and size; -1 when missing)."""
    marks = []
    for path in paths:
        try:
            stat = path.stat()
            marks.append((str(path), stat.st_mtime_ns, stat.st_size))
        except OSError:
            marks.append((str(path), -1, -1))
    return tuple(marks)


def changed_files(before: Stamp, after: Stamp) -> list[str]:
    old = {path: rest for path, *rest in before}
    return [path for path, *rest in after if old.get(path) != rest]


def changed_chapters(before: Script, after: Script) -> list[str]:
    """Titles of chapters whose spoken segments differ (added chapters included)."""
    old = {chapter.title: chapter.segments for chapter in before.chapters}
    return [c.title for c in after.chapters if old.get(c.title) != c.segments]


def watch(
    paths: Callable[[], Sequence[Path]],
    rebuild: Callable[[list[str]], None],
    sleep: Callable[[float], None] = time.sleep,
    failed: Callable[[Exception], None] = lambda exc: None,
) -> None:
    """Build once, then call `rebuild(changed paths)` after each settled change, until
    interrupted; `failed(error)` reports a rebuild that raised. The files are stamped
    before the first build, so a save made while it runs is not missed."""

    def attempt(files: list[str]) -> None:
        try:
            rebuild(files)
        except Exception as exc:  # any error, even a bug: report it and wait for a save
            failed(exc)

    current = stamp(paths())
    attempt([])
    while True:
        sleep(POLL_S)
        seen = stamp(paths())
        if seen == current:
            continue
        while True:  # wait for the writes to settle
            sleep(SETTLE_S)
            settled = stamp(paths())
            if settled == seen:
                break
            seen = settled
        files = changed_files(current, seen)
        current = seen
        attempt(files)
