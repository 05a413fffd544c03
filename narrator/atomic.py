"""narrator's temporary files and folders: outputs written so that a failure never leaves a
partial file where a good one was, scratch folders, and what a killed run left behind.

Every scratch folder narrator makes in the temporary folder is named
`narrator-PID-KIND-XXXX`, and every partial output file `.NAME.PID-XXXX.partial`, PID being
the process that made it. A run killed with SIGKILL cannot clean up, so the next run
removes the ones whose process is gone: only names of that form, only the user's own, and
never while their process lives.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from narrator.errors import NarratorError, OutputError

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


# Why writing an output can fail that its user can fix: a full disk or quota, a read-only
# folder or file system, an immutable file (EPERM), a folder where the file should be.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR})


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success.

    A full disk, or a folder or target that may not be written, raises OutputError
    naming `target`; the temporary file is removed in every case."""
    remove_abandoned_partials(target)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}-", suffix=".partial", dir=target.parent
        )
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except NarratorError:
        raise
    except Exception as exc:
        cause = _os_error(exc)
        if cause is None or not _ours(cause, temp, target):
            raise
        raise _cannot_write(target, cause) from exc
    finally:
        temp.unlink(missing_ok=True)


def _os_error(exc: BaseException | None) -> OSError | None:
    """The OSError behind `exc`: itself, or one a library wrapped (mutagen does)."""
    while exc is not None and not isinstance(exc, OSError):
        exc = exc.__cause__ or exc.__context__
    return exc


def _ours(exc: OSError, temp: Path, target: Path) -> bool:
    """Whether `exc` is about writing `temp` or putting it in place of `target`."""
    if exc.errno in _FULL:
        return True  # a write: the only thing written in the block is the temporary file
    names = {str(temp), str(target)}
    return exc.errno in _REFUSED and (exc.filename in names or exc.filename2 in names)


def _cannot_write(target: Path, exc: OSError) -> OutputError:
    if exc.errno in _FULL:
        hint = "free some space on that disk, or choose another -o"
    else:
        hint = "check the permissions of the file and its folder (`lsattr` shows an"
        hint += " immutable file), or choose another -o"
    return OutputError(f"cannot write {target} ({exc.strerror or exc})", hint)
