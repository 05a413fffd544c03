"""narrator's temporary files and folders.

- Outputs are written so that a failure never leaves a partial file where a good one was,
  and a set of files (an episode and its sidecars) is replaced together or not at all:
  every file is first written under a temporary name in its target's folder, then renamed
  over its target. New files get the permissions the umask allows; a replaced file keeps
  its permission bits. A full disk or a refused write is an OutputError naming the target.
- Every scratch folder narrator makes in the temporary folder is named
  `narrator-PID-KIND-XXXX`, and every partial output file `.NAME.PID-XXXX.partial`, PID
  being the process that made it. A run killed with SIGKILL cannot clean up, so the next
  run removes the ones whose process is gone: only names of that form, only the user's
  own, and never while their process lives.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from narrator.errors import NarratorError, OutputError

CHUNK = 1 << 18  # bytes read or written at a time when copying large files
PARTIAL = ".partial"  # the suffix of every temporary file narrator writes beside a target
_DEFERRED = (signal.SIGINT, signal.SIGTERM)
PREFIX = "narrator-"
_SCRATCH = re.compile(rf"{PREFIX}(\d+)-")


def file_chunks(path: Path, offset: int = 0) -> Iterator[bytes]:
    """The bytes of `path` from `offset` on, a CHUNK at a time."""
    with path.open("rb") as file:
        file.seek(offset)
        while chunk := file.read(CHUNK):
            yield chunk


def append_file(path: Path, offset: int, out: BinaryIO) -> None:
    """Append the bytes of `path` from `offset` on to `out`, copied by the kernel
    (copy_file_range) where it can: joining emerson-nature.md's 46 MB then costs no
    copies through Python. Elsewhere, or across file systems it refuses, a chunk at a time."""
    out.flush()
    target = out.fileno()
    with path.open("rb") as source:
        left = os.fstat(source.fileno()).st_size - offset
        try:
            while left > 0:
                copied = os.copy_file_range(source.fileno(), target, left, offset)
                if copied == 0:
                    break
                offset, left = offset + copied, left - copied
        except (AttributeError, OSError) as exc:  # no such call here, or not between these
            if isinstance(exc, OSError) and exc.errno not in _NO_RANGE_COPY:
                raise
        source.seek(offset)
        while left > 0 and (chunk := source.read(min(CHUNK, left))):
            os.write(target, chunk)  # at the file's offset, where the kernel's copy left it
            left -= len(chunk)


# what copy_file_range answers where it cannot copy between two files (the copy then
# goes through Python)
_NO_RANGE_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


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


def remove_own_scratch() -> None:
    """Remove this process's scratch folders: for a process about to end without running
    its clean-up (os._exit)."""
    for entry in Path(tempfile.gettempdir()).glob(f"{PREFIX}{os.getpid()}-*"):
        if entry.is_dir() and not entry.is_symlink():
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


def _temp_name(target: Path) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL}"


def _create(path: Path, target: Path) -> None:
    """Create `path` empty, with the permissions the umask allows (mkstemp gives 0600)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise _cannot_write(target, exc) from None


@contextmanager
def staged(targets: Sequence[Path]) -> Iterator[dict[Path, Path]]:
    """Yield an empty temporary file beside each target, to be written in the block; on
    success rename them all over their targets with `replace_together`. The temporary
    files are removed whatever happens; a full disk or a refused write is an OutputError
    naming the target."""
    temps: dict[Path, Path] = {}
    try:
        for target in targets:
            remove_abandoned_partials(target)
            temps[target] = _temp_name(target)
            _create(temps[target], target)
        try:
            yield temps
            replace_together(temps)
        except NarratorError:
            raise
        except Exception as exc:
            cause = _os_error(exc)
            culprit = next(
                (t for t, temp in temps.items() if cause is not None and _ours(cause, temp, t)),
                None,
            )
            if cause is None or culprit is None:
                raise
            raise _cannot_write(culprit, cause) from exc
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success."""
    with staged([target]) as temps:
        yield temps[target]


def replace_together(files: Mapping[Path, Path]) -> None:
    """Rename each temporary file (a value) over its target (the key), in the order given:
    all of them or, when one rename fails, none (the targets replaced so far get their old
    file back, from a hard link made first). Ctrl-C and SIGTERM wait until every file is in
    place, then take effect."""
    with _signals_deferred():
        backups: dict[Path, Path | None] = {}
        done: list[Path] = []
        try:
            for target in files:
                backups[target] = _backup(target)
            for target, temp in files.items():
                _keep_mode(temp, backups[target])
                os.replace(temp, target)
                done.append(target)
        except BaseException:
            for target in reversed(done):
                backup = backups[target]
                with contextlib.suppress(OSError):
                    if backup is None:
                        target.unlink()
                    else:
                        os.replace(backup, target)
            raise
        finally:
            for backup in backups.values():
                if backup is not None:
                    backup.unlink(missing_ok=True)


def _backup(target: Path) -> Path | None:
    """A second name for the target's current file, to put it back; None if it has none."""
    if not target.exists():
        return None
    backup = _temp_name(target)
    try:
        os.link(target, backup)
    except OSError:  # a file system without hard links
        import shutil

        shutil.copy2(target, backup)
    return backup


def _keep_mode(temp: Path, old: Path | None) -> None:
    """Give `temp` the permission bits of the file it replaces (a new file keeps its own)."""
    if old is not None:
        os.chmod(temp, stat.S_IMODE(os.stat(old).st_mode))


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them to the handlers the
    process had. Only the main thread can; elsewhere the block simply runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {held: signal.signal(held, hold) for held in _DEFERRED}
    try:
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


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
