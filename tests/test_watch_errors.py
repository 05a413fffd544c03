"""`narrator watch` reports whatever one save breaks and keeps watching."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import start_watch

from narrator.watch import watch


def test_any_error_in_a_rebuild_is_reported_and_watching_goes_on(tmp_path: Path) -> None:
    essay = tmp_path / "essay.md"
    essay.write_text("One.\n", encoding="utf-8")
    saves = iter(["Two, and longer.\n", "Three, longer still.\n"])
    built: list[list[str]] = []
    failures: list[Exception] = []
    polls = 0

    def rebuild(changed: list[str]) -> None:
        built.append(changed)
        if len(built) == 2:  # the first save breaks the build in a way nobody foresaw
            raise RecursionError("maximum recursion depth exceeded")

    def sleep(_: float) -> None:
        nonlocal polls
        polls += 1
        if polls % 4 == 0:  # the user saves now and then
            try:
                essay.write_text(next(saves), encoding="utf-8")
            except StopIteration:
                raise KeyboardInterrupt from None

    with pytest.raises(KeyboardInterrupt):
        watch(lambda: [essay], rebuild, sleep, failed=failures.append)
    assert len(built) == 3  # the first build, the failed one, and the one after it
    assert [type(f) for f in failures] == [RecursionError]


def test_watch_survives_a_bad_front_matter_and_an_immutable_output(tmp_path: Path) -> None:
    import os
    import select
    import shutil
    import signal
    import subprocess

    essay = tmp_path / "essay.md"
    good = "# Watched\n\nA first sentence to hear.\n"
    essay.write_text(good, encoding="utf-8")
    out = tmp_path / "watched.mp3"
    proc = start_watch(essay, out, tmp_path / "cache")

    def said(stream: object) -> str:  # never wait forever on a watcher that missed a save
        ready, _, _ = select.select([stream], [], [], 120)
        assert ready, "watch printed nothing for two minutes"
        return stream.readline()  # type: ignore[attr-defined]

    immutable = os.geteuid() == 0 and shutil.which("chattr") is not None
    try:
        assert "built" in said(proc.stdout)
        essay.write_text("---\na: &a [*a]\n---\n\nText.\n", encoding="utf-8")
        line = said(proc.stderr)
        assert "alias" in line and "(still watching)" in line, line
        if immutable:
            subprocess.run(["chattr", "+i", str(out)], check=True)
            essay.write_text(good + "\nOne more.\n", encoding="utf-8")
            line = said(proc.stderr)
            assert str(out) in line and "(still watching)" in line, line
            subprocess.run(["chattr", "-i", str(out)], check=True)
        essay.write_text(good + "\nAnd another.\n", encoding="utf-8")
        while "built" not in (line := said(proc.stdout)):
            pass
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(out)], check=False)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "internal error" not in err
