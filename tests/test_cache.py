"""The audio cache: keys, integrity, concurrency and eviction."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from helpers import build_cached, run_cached

from narrator.cache import AudioCache, content_key
from narrator.model import Emphasis, Script, ScriptChapter, Segment, Utterance
from narrator.speech.engine import Prosody
from narrator.speech.espeak import EspeakConfig
from narrator.speech.pool import Voice, utterance_keys

BASE = Voice(EspeakConfig("gmw/en-us"), Prosody(165, 50, 1.0))


def keys_for(texts: list[str], voice: Voice = BASE, emphasis: Emphasis = Emphasis.NONE):
    segments = tuple(Segment(t, 500, emphasis) for t in texts)
    return utterance_keys(Script("T", None, (ScriptChapter("C", segments),)), voice)


def key_of(text: str, voice: Voice = BASE, emphasis: Emphasis = Emphasis.NONE) -> str:
    return keys_for([text], voice, emphasis)[Utterance(text, emphasis)]


def test_key_ignores_position_and_neighbours() -> None:
    alone = key_of("The second sentence.")
    moved = keys_for(["A new first paragraph.", "Another one.", "The second sentence."])
    assert moved[Utterance("The second sentence.", Emphasis.NONE)] == alone


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda: key_of("The second sentence!"), id="text"),
        pytest.param(
            lambda: key_of("The second sentence.", emphasis=Emphasis.STRONG), id="emphasis"
        ),
        pytest.param(
            lambda: key_of("The second sentence.", Voice(EspeakConfig("gmw/en"), BASE.prosody)),
            id="voice",
        ),
        pytest.param(
            lambda: key_of("The second sentence.", Voice(BASE.engine, Prosody(170, 50, 1.0))),
            id="rate",
        ),
        pytest.param(
            lambda: key_of("The second sentence.", Voice(BASE.engine, Prosody(165, 60, 1.0))),
            id="pitch",
        ),
        pytest.param(
            lambda: key_of("The second sentence.", Voice(BASE.engine, Prosody(165, 50, 0.8))),
            id="volume",
        ),
    ],
)
def test_key_changes_with_what_changes_the_sound(other) -> None:
    assert other() != key_of("The second sentence.")


def test_key_covers_engine_versions(fake_engine: Voice, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's identity (its version, through the registry) is part of every key."""
    import fake_engine as fake

    before = key_of("Same text.", fake_engine)
    monkeypatch.setenv(fake.VERSION_ENV, "2")
    assert key_of("Same text.", fake_engine) != before


def test_content_key_is_stable_and_order_sensitive() -> None:
    assert content_key("a", 1, {"x": 1, "y": 2}) == content_key("a", 1, {"y": 2, "x": 1})
    assert content_key("a", 1) != content_key(1, "a")


def test_put_get_round_trip_and_corruption_is_detected(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path)
    key = content_key("clip")
    cache.put("segments", key, b"\x01\x02" * 1000)
    assert cache.get("segments", key) == b"\x01\x02" * 1000
    entry = next(tmp_path.rglob(key))  # the entry, not the cache's marker file
    entry.write_bytes(entry.read_bytes()[:-7])  # truncated, as by a crash or a full disk
    assert cache.get("segments", key) is None
    assert not entry.exists()  # removed, so the next build makes it again
    cache.put("segments", key, b"ok")
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit
    entry.write_bytes(bytes(data))
    assert cache.get("segments", key) is None


def test_a_placed_entry_is_a_link_that_outlives_the_entry_and_is_checked(
    tmp_path: Path,
) -> None:
    cache = AudioCache(tmp_path / "cache")
    key = content_key("block")
    cache.put("chapters", key, b"\xff\xfb" * 1000)
    placed = tmp_path / "placed"
    offset = cache.place_file("chapters", key, placed)
    assert offset is not None and placed.read_bytes()[offset:] == b"\xff\xfb" * 1000
    entry = next((tmp_path / "cache").rglob(key))
    assert placed.stat().st_ino == entry.stat().st_ino  # the same file: nothing copied
    entry.unlink()  # evicted by another build meanwhile
    assert placed.read_bytes()[offset:] == b"\xff\xfb" * 1000
    assert cache.place_file("chapters", key, tmp_path / "gone") is None  # a miss
    cache.put("chapters", key, b"\xff\xfb" * 1000)
    entry.write_bytes(entry.read_bytes()[:-3])  # truncated
    assert cache.place_file("chapters", key, tmp_path / "short") is None
    assert not entry.exists() and not (tmp_path / "short").exists()


def test_concurrent_writers_of_one_key_never_expose_half_an_entry(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path)
    key = content_key("shared")
    payload = os.urandom(1 << 20)
    seen: list[bytes | None] = []

    def writer() -> None:
        for _ in range(20):
            cache.put("segments", key, payload)

    def reader() -> None:
        for _ in range(200):
            seen.append(cache.get("segments", key))

    threads = [threading.Thread(target=f) for f in (writer, writer, reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(item in (None, payload) for item in seen)
    assert cache.get("segments", key) == payload
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_eviction_removes_least_recently_used_first(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=3 * 1100)
    for age, name in enumerate(["old", "middle", "new", "newest"]):
        AudioCache(tmp_path).put("segments", content_key(name), bytes(1000))  # no cap yet
        entry = cache._path("segments", content_key(name))
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))
    cache.get("segments", content_key("old"))  # reading refreshes: now the most recent
    assert cache.evict() == 1
    assert cache.get("segments", content_key("middle")) is None
    for name in ("old", "new", "newest"):
        assert cache.get("segments", content_key(name)) is not None


def test_info_and_clear(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path)
    for name in ("a", "b"):
        cache.put("chapters", content_key(name), bytes(10))
    info = cache.info()
    assert (info.entries, info.path) == (2, tmp_path)
    assert info.size_bytes > 20
    assert cache.clear() == 2
    assert cache.info().entries == 0


def test_cache_info_and_clear(essay: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build_cached(essay, tmp_path / "x.mp3", cache)
    info = run_cached("cache", "info", cache=cache, cwd=tmp_path)
    assert info.returncode == 0 and str(cache) in info.stdout
    assert re.search(r"entries: (\d+)", info.stdout)[1] != "0"
    cleared = run_cached("cache", "clear", cache=cache, cwd=tmp_path)
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    assert "entries: 0" in run_cached("cache", "info", cache=cache, cwd=tmp_path).stdout
