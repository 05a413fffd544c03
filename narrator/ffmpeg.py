"""Every ffmpeg call goes through here: finding the binary and turning failures into errors."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import IO, BinaryIO

from narrator.atomic import CHUNK
from narrator.errors import DependencyError

log = logging.getLogger(__name__)
FFMPEG_ENV = "NARRATOR_FFMPEG"


@cache
def find_ffmpeg(configured: str | None = None) -> str:
    """The ffmpeg to run: the configured one, else $NARRATOR_FFMPEG, else imageio-ffmpeg's.
    A configured program must answer `-version` as ffmpeg does."""
    chosen = configured or os.environ.get(FFMPEG_ENV)
    if chosen:
        if not (Path(chosen).is_file() and os.access(chosen, os.X_OK)):
            raise DependencyError(
                f"ffmpeg {chosen} does not exist or is not executable",
                f"fix the ffmpeg setting or {FFMPEG_ENV}",
            )
        if not ffmpeg_version(chosen).startswith("ffmpeg version"):
            raise DependencyError(
                f"{chosen} is not ffmpeg (`{chosen} -version` does not say so)",
                f"point the ffmpeg setting or {FFMPEG_ENV} at an ffmpeg binary",
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


def run_ffmpeg(
    ffmpeg: str, args: Sequence[str], progress: Callable[[int], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg to completion; its stdout and stderr are in the result. With
    `progress`, it is called with the milliseconds of input processed so far (and stdout,
    which carries ffmpeg's progress report, is not kept)."""
    cmd = [ffmpeg, "-hide_banner", "-nostdin", *args]
    log.info("run: %s", shlex.join(cmd))
    if progress is None:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    else:
        proc = _with_progress([*cmd[:3], "-progress", "pipe:1", *cmd[3:]], progress)
    if proc.returncode != 0:
        raise _failure(ffmpeg, proc.returncode, proc.stderr)
    return proc


def _with_progress(
    cmd: list[str], progress: Callable[[int], None]
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr: list[str] = []
    errors = proc.stderr
    reader = threading.Thread(target=lambda: stderr.append(errors.read()), daemon=True)
    reader.start()
    for line in proc.stdout:  # key=value lines; out_time_us is the position reached
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and value.isdigit():
            progress(int(value) // 1000)
    reader.join()
    return subprocess.CompletedProcess(cmd, proc.wait(), "", "".join(stderr))


@cache
def ffmpeg_version(ffmpeg: str) -> str:
    """The first line of `ffmpeg -version` (part of the cache key of encoded audio)."""
    return run_ffmpeg(ffmpeg, ["-version"]).stdout.split("\n", 1)[0]


def convert(ffmpeg: str, args: Sequence[str], data: bytes, keep_stderr: bool = False) -> bytes:
    """Run ffmpeg with `data` on stdin; return what it writes to stdout, or to stderr
    (where filters such as ebur128 report) when `keep_stderr` is set."""
    return stream(ffmpeg, args, (data,), keep_stderr)


_running: set[subprocess.Popen[bytes]] = set()  # the ffmpegs `stream` is waiting for
_running_lock = threading.Lock()
_ABANDON_WAIT_S = 1.0  # how long an interrupted stream waits for its feeding thread


def stop_running() -> None:
    """Kill every ffmpeg that `stream` is waiting for, in any thread: an interrupted or
    failed build stops its encodes now rather than when they finish (a long chapter
    took 44 s). The streams raise DependencyError."""
    with _running_lock:
        running = list(_running)
    for proc in running:
        with contextlib.suppress(OSError):
            proc.kill()


def stream(
    ffmpeg: str,
    args: Sequence[str],
    chunks: Iterable[bytes],
    keep_stderr: bool = False,
    into: BinaryIO | None = None,
) -> bytes:
    """Like `convert`, with stdin fed from `chunks` as they come, so the input never has
    to be in memory at once; an exception raised by `chunks` is raised here. With `into`,
    the output is written there as it comes (and b"" returned), so it need not be in
    memory either. An interrupt while it waits kills ffmpeg at once."""
    level = "info" if keep_stderr else "error"
    cmd = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", level, *args]
    log.info("run: %s", shlex.join(cmd))
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with _running_lock:
        _running.add(proc)
    try:
        return _wait_for_stream(proc, ffmpeg, chunks, keep_stderr, into)
    finally:
        with _running_lock:
            _running.discard(proc)


def _wait_for_stream(
    proc: subprocess.Popen[bytes],
    ffmpeg: str,
    chunks: Iterable[bytes],
    keep_stderr: bool,
    into: BinaryIO | None,
) -> bytes:
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
        if into is None:
            out = proc.stdout.read()
        else:
            out = b""
            while chunk := os.read(proc.stdout.fileno(), CHUNK):  # what the pipe has
                into.write(chunk)
    except BaseException:
        proc.kill()  # an interrupt: stop now; the feeding thread may be busy making audio
        for thread in threads:
            thread.join(_ABANDON_WAIT_S)
        proc.wait()
        raise
    for thread in threads:
        thread.join()
    code = proc.wait()
    if feed_error:
        raise feed_error[0]
    if code != 0:
        raise _failure(ffmpeg, code, b"".join(stderr).decode(errors="replace"))
    return b"".join(stderr) if keep_stderr else out
