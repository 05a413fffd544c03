"""`narrator watch`: a saved essay is rebuilt, naming the chapters that changed."""

from __future__ import annotations

import select
import signal
from pathlib import Path

from helpers import ROOMS, start_watch


def test_watch_rebuilds_when_the_essay_is_saved(essay: Path, tmp_path: Path) -> None:
    out = tmp_path / "watched.mp3"
    proc = start_watch(essay, out, tmp_path / "cache")

    def readline() -> str:  # never wait forever on a watcher that missed a change
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "watch printed nothing for two minutes"
        return proc.stdout.readline()

    try:
        assert "built" in readline()
        first = out.read_bytes()
        essay.write_text(ROOMS.replace("Bees work", "Bees still work"), "utf-8")
        lines = [readline() for _ in range(3)]
        assert "changed" in lines[0] and "The Garden" in lines[1], lines
        assert "reused 12 of 13 segments" in lines[2], lines
        assert out.read_bytes() != first
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped watching" in rest and "Traceback" not in err
