"""Write files so that a failure never leaves a partial file where a good one was."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from narrator.errors import NarratorError, OutputError

# Why writing an output can fail that its user can fix: a full disk or quota, a read-only
# folder or file system, an immutable file (EPERM), a folder where the file should be.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR})


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success.

    A full disk, or a folder or target that may not be written, raises OutputError
    naming `target`; the temporary file is removed in every case."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
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
