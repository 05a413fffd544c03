"""narrator's temporary files and folders: outputs written so that a failure never leaves a
partial file where a good one was, scratch folders, and what a killed run left behind.

Every scratch folder narrator makes in the temporary folder is named
`narrator-PID-KIND-XXXX`, and every partial output file `.NAME.PID-XXXX.partial`, PID being
the process that made it. A run killed with SIGKILL cannot clean up, so the next run
removes the ones whose process is gone: only names of that form, only the user's own, and
never while their process lives.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "narrator-"
_SCRATCH = re.compile(rf"{PREFIX}(\d+)-")


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def left_by_dead_process(path: Path, pattern: re.Pattern[str]) -> bool:
    """Whether `path`'s name matches `pattern` (its first group a process id), it is
    this user's, and that process no longer runs."""
    match = pattern.match(path.name)
    if match is None or process_alive(int(match.group(1))):
        return False
    try:
        return path.lstat().st_uid == os.getuid()
    except OSError:
        return False


def remove_abandoned_scratch() -> None:
    """Remove the scratch folders of narrator runs that were killed."""
    try:
        entries = list(Path(tempfile.gettempdir()).iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and left_by_dead_process(entry, _SCRATCH):
            shutil.rmtree(entry, ignore_errors=True)


def scratch_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder for this process (removed when it is closed), after removing
    those of killed runs."""
    remove_abandoned_scratch()
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-{kind}-")


def remove_abandoned_partials(target: Path) -> None:
    """Remove the partial files of `target` that killed runs left beside it."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\d+)-[^/]*\.partial\Z")
    try:
        partials = list(target.parent.glob(f".{glob.escape(target.name)}.*.partial"))
    except OSError:
        return
    for partial in partials:
        if partial.is_file() and left_by_dead_process(partial, pattern):
            partial.unlink(missing_ok=True)


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success."""
    remove_abandoned_partials(target)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}-", suffix=".partial", dir=target.parent
    )
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
