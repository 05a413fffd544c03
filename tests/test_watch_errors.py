"""`narrator watch` reports whatever one save breaks and keeps watching."""

from __future__ import annotations

from pathlib import Path

import pytest

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
