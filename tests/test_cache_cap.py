"""The cache's size cap holds during a build, not only after it."""

from __future__ import annotations

import pickle
from pathlib import Path

from narrator.cache import AudioCache


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_the_cap_holds_while_entries_are_put(tmp_path: Path) -> None:
    cap = 1 << 20
    cache = AudioCache(tmp_path, cap)
    peak = 0
    for index in range(200):  # 4 MB of entries into a 1 MB cache
        # each speech task gets its own pickled copy of the store, as pool workers do
        copy = pickle.loads(pickle.dumps(cache))
        copy.put("segments", f"{index:064x}", bytes([index % 256]) * 20_000)
        peak = max(peak, _size(tmp_path))
    assert peak <= cap * 1.1
    assert cache.get("segments", f"{199:064x}") is not None  # the newest stay
