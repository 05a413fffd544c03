"""A content-addressed store of audio: the only module that knows the cache's layout.

Entries are keyed by a hash of everything that shapes their sound (never by position), so
an edit invalidates only what it touched. Each entry is written to a temporary name and
renamed into place, so concurrent builds sharing a cache never see half an entry; each
carries a checksum of its payload, so a truncated or corrupt entry is detected, deleted
and made again. Reading an entry refreshes its time; when the cache outgrows its cap the
least recently used entries go first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
CACHE_ENV = "NARRATOR_CACHE_DIR"
SCHEMA = 2  # bump when the meaning or format of entries changes
DEFAULT_MAX_MB = 2048
_MAGIC = b"NRC1"
_DIGEST = 32
_STALE_TEMP_S = 3600


def default_cache_dir() -> Path:
    """$NARRATOR_CACHE_DIR, else the user cache folder (~/.cache/narrator on Linux)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("narrator", appauthor=False))


def content_key(*parts: Any) -> str:
    """A stable hex key for JSON-serialisable parts (and the cache schema)."""
    blob = json.dumps([SCHEMA, *parts], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    entries: int
    size_bytes: int
    max_bytes: int


class AudioCache:
    """Audio entries under `root/v{SCHEMA}/{kind}/{key[:2]}/{key}`."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_MB * 1024 * 1024) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._base = root / f"v{SCHEMA}"

    def _path(self, kind: str, key: str) -> Path:
        return self._base / kind / key[:2] / key

    def has(self, kind: str, key: str) -> bool:
        """Whether an entry exists (not whether it is intact: `get` checks that)."""
        found = self._path(kind, key).is_file()
        if not found:
            log.debug("cache miss: %s %s", kind, key)
        return found

    def get(self, kind: str, key: str) -> bytes | None:
        """The entry's payload, or None when missing or corrupt (a corrupt one is removed)."""
        path = self._path(kind, key)
        try:
            blob = path.read_bytes()
        except OSError:
            log.debug("cache miss: %s %s", kind, key)
            return None
        payload = blob[len(_MAGIC) + _DIGEST :]
        if blob[: len(_MAGIC)] != _MAGIC or blob[len(_MAGIC) : len(_MAGIC) + _DIGEST] != (
            hashlib.sha256(payload).digest()
        ):
            path.unlink(missing_ok=True)
            log.info("cache entry corrupt, removed: %s %s", kind, key)
            return None
        log.debug("cache hit: %s %s", kind, key)
        with contextlib.suppress(OSError):  # evicted by another build meanwhile: fine
            os.utime(path)  # least recently used goes first
        return payload

    def put(self, kind: str, key: str, payload: bytes) -> None:
        """Store an entry atomically; a concurrent writer of the same key is harmless."""
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _entries(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self._base.glob("*/*/*"):
            try:
                stat = path.stat()
            except OSError:
                continue
            if not path.name.startswith(".tmp-"):
                found.append((stat.st_mtime, stat.st_size, path))
            elif time.time() - stat.st_mtime > _STALE_TEMP_S:
                path.unlink(missing_ok=True)  # left by a build that was killed
        return found

    def info(self) -> CacheInfo:
        entries = self._entries()
        return CacheInfo(self.root, len(entries), sum(e[1] for e in entries), self.max_bytes)

    def evict(self) -> int:
        """Remove least recently used entries until the cache fits its cap; returns count."""
        entries = sorted(self._entries())
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def clear(self) -> int:
        """Remove every entry, of this schema and older ones; returns how many there were."""
        count = sum(1 for path in self.root.glob("v*/*/*/*") if not path.name.startswith("."))
        for folder in self.root.glob("v*"):
            shutil.rmtree(folder, ignore_errors=True)
        return count
