"""Atomic writes (issue 13): a set of files is replaced together or not at all, and what
is written honours the umask and keeps a replaced file's mode."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from narrator.atomic import append_file, atomic_output, replace_together


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_set_whose_last_rename_fails_is_left_as_it_was(tmp_path: Path) -> None:
    targets = [tmp_path / name for name in ("a.chapters.json", "a.vtt", "a.mp3")]
    for target in targets[:2]:
        target.write_text(f"old {target.name}", encoding="utf-8")
    targets[2].mkdir()  # the last rename fails: a folder is in the way
    temps = {target: tmp_path / f".{target.name}.new" for target in targets}
    for target, temp in temps.items():
        temp.write_text(f"new {target.name}", encoding="utf-8")
    with pytest.raises(OSError):
        replace_together(temps)
    assert [t.read_text(encoding="utf-8") for t in targets[:2]] == [
        "old a.chapters.json",
        "old a.vtt",
    ]
    assert targets[2].is_dir()
    assert _leftovers(tmp_path) == sorted(temp.name for temp in temps.values())  # the caller's


def test_a_set_is_replaced_whole_and_new_targets_are_removed_again(tmp_path: Path) -> None:
    old, new, blocked = tmp_path / "old.txt", tmp_path / "new.txt", tmp_path / "z"
    old.write_text("old", encoding="utf-8")
    blocked.mkdir()
    (blocked / "inside").touch()  # a full folder: the rename over it fails
    temps = {old: tmp_path / ".1", new: tmp_path / ".2", blocked: tmp_path / ".3"}
    for temp in temps.values():
        temp.write_text("fresh", encoding="utf-8")
    with pytest.raises(OSError):
        replace_together(temps)
    assert old.read_text(encoding="utf-8") == "old" and not new.exists()
    del temps[blocked]
    replace_together(temps)
    assert old.read_text(encoding="utf-8") == new.read_text(encoding="utf-8") == "fresh"


def test_written_files_honour_the_umask_and_keep_a_replaced_files_mode(tmp_path: Path) -> None:
    fresh, kept = tmp_path / "fresh.mp3", tmp_path / "kept.mp3"
    kept.write_bytes(b"old")
    kept.chmod(0o600)
    previous = os.umask(0o027)
    try:
        for target in (fresh, kept):
            with atomic_output(target) as temp:
                temp.write_bytes(b"new")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("kernel", ["copy_file_range", "refused"])
def test_append_file_copies_from_the_offset_on_whichever_way_it_copies(
    kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "block"
    data = bytes(range(256)) * 4000  # more than one CHUNK
    source.write_bytes(b"header" + data)
    if kernel == "refused":  # a file system (or an old kernel) that will not copy ranges

        def refuse(*args: object) -> int:
            raise OSError(errno.EXDEV, "cross-device")

        monkeypatch.setattr(os, "copy_file_range", refuse)
    out = tmp_path / "episode"
    with out.open("wb") as file:
        file.write(b"tag")
        append_file(source, len(b"header"), file)
        append_file(source, len(b"header") + 10, file)
    assert out.read_bytes() == b"tag" + data + data[10:]
