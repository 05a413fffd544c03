"""`cache clear` removes only what narrator made (issue 13, section 1): `cache_dir` may
name a folder that holds the user's own things."""

from __future__ import annotations

from pathlib import Path

from helpers import run_cached

from narrator.cache import AudioCache, content_key

THEIRS = {
    "venv/bin/python": "not narrator's",
    "vendor/lib.c": "int main;",
    "videos/holiday.mp4": "film",
    "v1/notes.txt": "a note in a folder named like the cache's",
    "v1/segments/ab/README": "still not narrator's",
    "v1/segments/ab/" + "ab" * 32: "named like an entry, written by someone else",
}


def _plant(root: Path) -> None:
    for name, text in THEIRS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def _theirs_intact(root: Path) -> bool:
    return all((root / name).read_text(encoding="utf-8") == text for name, text in THEIRS.items())


def test_a_folder_narrator_did_not_make_is_not_cleared(tmp_path: Path) -> None:
    project = tmp_path / "project"
    _plant(project)
    result = run_cached("cache", "clear", cache=project, cwd=tmp_path)
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert result.stderr.count("\n") == 1 and "narrator-cache.json" in result.stderr
    assert _theirs_intact(project)


def test_clear_removes_narrators_entries_and_nothing_else(tmp_path: Path) -> None:
    project = tmp_path / "project"
    _plant(project)
    cache = AudioCache(project)
    for name in ("one", "two", "three"):
        cache.put("segments", content_key(name), b"audio " + name.encode())
    result = run_cached("cache", "clear", cache=project, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "removed 3 entries" in result.stdout
    assert _theirs_intact(project)
    assert all(cache.get("segments", content_key(n)) is None for n in ("one", "two", "three"))
