"""Every ffmpeg call goes through here: finding the binary and turning failures into errors."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import subprocess
import threading
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import IO

from narrator.errors import DependencyError

log = logging.getLogger(__name__)
FFMPEG_ENV = "NARRATOR_FFMPEG"


@cache
def find_ffmpeg(configured: str | None = None) -> str:
    """The ffmpeg to run: the configured one, else $NARRATOR_FFMPEG, else imageio-ffmpeg's."""
    chosen = configured or os.environ.get(FFMPEG_ENV)
    if chosen:
        if not (Path(chosen).is_file() and os.access(chosen, os.X_OK)):
            raise DependencyError(
                f"ffmpeg {chosen} does not exist or is not executable",
                f"fix the ffmpeg setting or {FFMPEG_ENV}",
            )
        return chosen
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise DependencyError(
            "no ffmpeg found", f"set {FFMPEG_ENV} to an ffmpeg binary or rerun ./scripts/narrate"
        ) from exc


def _failure(ffmpeg: str, code: int, stderr: str) -> DependencyError:
    lines = [line for line in stderr.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit code {code}"
    return DependencyError(f"ffmpeg failed: {detail}", f"check the ffmpeg at {ffmpeg}")


def run_ffmpeg(ffmpeg: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg to completion; its stdout and stderr are in the result."""
    cmd = [ffmpeg, "-hide_banner", "-nostdin", *args]
    log.info("run: %s", shlex.join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        raise _failure(ffmpeg, proc.returncode, proc.stderr)
    return proc


@cache
def ffmpeg_version(ffmpeg: str) -> str:
    """The first line of `ffmpeg -version` (part of the cache key of encoded audio)."""
    return run_ffmpeg(ffmpeg, ["-version"]).stdout.split("\n", 1)[0]


def convert(ffmpeg: str, args: Sequence[str], data: bytes, keep_stderr: bool = False) -> bytes:
    """Run ffmpeg with `data` on stdin; return what it writes to stdout, or to stderr
    (where filters such as ebur128 report) when `keep_stderr` is set."""
    return stream(ffmpeg, args, (data,), keep_stderr)


def stream(
    ffmpeg: str, args: Sequence[str], chunks: Iterable[bytes], keep_stderr: bool = False
) -> bytes:
    """Like `convert`, with stdin fed from `chunks` as they come, so the input never has
    to be in memory at once; an exception raised by `chunks` is raised here."""
    level = "info" if keep_stderr else "error"
    cmd = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", level, *args]
    log.info("run: %s", shlex.join(cmd))
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    feed_error: list[BaseException] = []
    stderr: list[bytes] = []

    def feed(pipe: IO[bytes]) -> None:
        try:
            for chunk in chunks:
                pipe.write(chunk)
        except BrokenPipeError:
            pass  # ffmpeg stopped reading: its exit status says why
        except BaseException as exc:
            feed_error.append(exc)
        finally:
            with contextlib.suppress(OSError):
                pipe.close()

    errors = proc.stderr
    threads = [
        threading.Thread(target=feed, args=(proc.stdin,), daemon=True),
        threading.Thread(target=lambda: stderr.append(errors.read()), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        out = proc.stdout.read()
    finally:
        for thread in threads:
            thread.join()
        code = proc.wait()
    if feed_error:
        raise feed_error[0]
    if code != 0:
        raise _failure(ffmpeg, code, b"".join(stderr).decode(errors="replace"))
    return b"".join(stderr) if keep_stderr else out
