"""Write files so that a failure never leaves a partial file where a good one was."""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from narrator.scratch import left_by_dead_process


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
