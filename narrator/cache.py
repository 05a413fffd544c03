"""A content-addressed store of audio: the only module that knows the cache's layout.

Entries are keyed by a hash of everything that shapes their sound (never by position), so
an edit invalidates only what it touched. Each entry is written to a temporary name and
renamed into place, so concurrent builds sharing a cache never see half an entry; each
carries a checksum of its payload, so a truncated or corrupt entry is detected, deleted
and made again. Reading an entry refreshes its time; when the cache outgrows its cap the
least recently used entries go first, checked as entries are put (during a build) and
after each build.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from narrator.atomic import CHUNK
from narrator.errors import OutputError

log = logging.getLogger(__name__)

CACHE_ENV = "NARRATOR_CACHE_DIR"
SCHEMA = 1  # bump when the meaning or format of entries changes
DEFAULT_MAX_MB = 2048
_MAGIC = b"NRC1"
_DIGEST = 32
_MAX_HEADER = 1 << 26  # of a `headed` payload: a segment span per cue is far less
_STALE_TEMP_S = 3600
_PUT_ATTEMPTS = 10  # a `cache clear` may remove the folder between mkdir and rename
# The cap is checked each time a process has put this share of it since it last checked:
# a scan per 64 MB by default, and the cache never holds more than the cap plus that much
# per process writing to it (the parent and each speech worker).
_CHECK_SHARE = 32
# Bytes this process has put into each cache (by folder) since it last checked the cap.
# Kept per process, not per AudioCache: each speech task gets its own unpickled copy.
_grown: dict[Path, int] = {}
MARKER = "narrator-cache.json"  # in the root: `cache clear` empties only a folder that has it
# the layout below the root, folder by folder: v{SCHEMA}/{kind}/{key[:2]}/{key or .tmp-*}
_LAYOUT = (re.compile(r"v\d+"), re.compile(r"[a-z_]+"), re.compile(r"[0-9a-f]{2}"))
_ENTRY = re.compile(r"[0-9a-f]{64}|\.tmp-\w+")


def default_cache_dir() -> Path:
    """$NARRATOR_CACHE_DIR, else the user cache folder (~/.cache/narrator on Linux)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("narrator", appauthor=False))


def headed(header: Mapping[str, Any], body: Iterable[bytes]) -> Iterator[bytes]:
    """A JSON header, its length first, then the body: the payload of an entry that keeps
    what describes its audio (frame count, timings) beside the audio."""
    blob = json.dumps(header, ensure_ascii=False, sort_keys=True).encode()
    yield len(blob).to_bytes(4, "big") + blob
    yield from body


def read_header(path: Path, offset: int = 0) -> tuple[dict[str, Any], int]:
    """The header of a file holding a `headed` payload from `offset` on, and where its body
    starts. ValueError when the file does not hold one there."""
    with path.open("rb") as file:
        file.seek(offset)
        size = int.from_bytes(file.read(4), "big")
        blob = file.read(min(size, _MAX_HEADER))
    if len(blob) != size:
        raise ValueError("no header")
    header = json.loads(blob)  # a JSONDecodeError or UnicodeDecodeError is a ValueError
    if not isinstance(header, dict):
        raise ValueError("no header")
    return header, offset + 4 + size


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
        self._marked = False

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
        payload = io.BytesIO()
        return payload.getvalue() if self._read(kind, key, payload) else None

    def get_file(self, kind: str, key: str, dest: Path) -> bool:
        """Copy the entry's payload into the file `dest`, a chunk at a time (for entries too
        large to hold in memory); False when missing or corrupt, and then `dest` may hold
        part of it."""
        with dest.open("wb") as out:
            return self._read(kind, key, out)

    def place_file(self, kind: str, key: str, dest: Path) -> int | None:
        """Put the whole entry at `dest` and return where its payload starts there; None
        when it is missing or corrupt. `dest` is a hard link where the file system allows
        one, so nothing is copied (an unchanged rebuild of emerson-nature.md placed 46 MB),
        and it stays whole even if the entry is evicted or replaced meanwhile: both
        remove or rename entries, never write into them."""
        path = self._path(kind, key)
        try:
            try:
                os.link(path, dest)
            except FileNotFoundError:
                raise
            except OSError:  # another file system, or no links there
                shutil.copyfile(path, dest)
        except OSError:
            log.debug("cache miss: %s %s", kind, key)
            return None
        if not self._read(kind, key, None, dest):
            dest.unlink(missing_ok=True)
            return None
        return len(_MAGIC) + _DIGEST

    def _read(self, kind: str, key: str, out: BinaryIO | None, placed: Path | None = None) -> bool:
        """Check the entry against its checksum, copying its payload to `out` if given;
        read from `placed` (where place_file put it) if given, else from the cache."""
        path = self._path(kind, key)
        try:
            with (placed or path).open("rb") as entry:
                head = entry.read(len(_MAGIC) + _DIGEST)
                digest = hashlib.sha256()
                while chunk := entry.read(CHUNK):
                    digest.update(chunk)
                    if out is not None:
                        out.write(chunk)
        except OSError:
            log.debug("cache miss: %s %s", kind, key)
            return False
        if head != _MAGIC + digest.digest():
            self._remove(path)
            log.info("cache entry corrupt, removed: %s %s", kind, key)
            return False
        log.debug("cache hit: %s %s", kind, key)
        with contextlib.suppress(OSError):  # evicted by another build meanwhile: fine
            os.utime(path)  # least recently used goes first
        return True

    def discard(self, kind: str, key: str) -> None:
        """Remove an entry whose payload turned out unusable, so that it is made again."""
        self._remove(self._path(kind, key))

    def put(self, kind: str, key: str, payload: bytes) -> None:
        """Store an entry atomically; a concurrent writer of the same key is harmless, and
        so is a `cache clear` meanwhile. Raises OutputError when the cache folder cannot
        be written (read-only, full) or a folder stands where the entry goes."""
        self.put_chunks(kind, key, lambda: (payload,))

    def put_chunks(self, kind: str, key: str, chunks: Callable[[], Iterable[bytes]]) -> None:
        """`put` for a payload too large to hold in memory: `chunks()` gives its pieces in
        order (it is called again if the write must start over)."""
        path = self._path(kind, key)
        for attempt in range(_PUT_ATTEMPTS):
            try:
                size = self._write(path, chunks())
                self._mark()
                break
            except (FileNotFoundError, FileExistsError):  # cleared away meanwhile: again
                if attempt == _PUT_ATTEMPTS - 1:
                    raise self._unwritable(OSError(errno.ENOENT, "it keeps vanishing")) from None
            except IsADirectoryError:
                raise OutputError(
                    f"{path} is a folder, where narrator keeps a cache entry",
                    "remove that folder, or set cache_dir in narrator.toml to another folder",
                ) from None
            except OSError as exc:
                raise self._unwritable(exc) from None
        self._keep_cap(size)

    @staticmethod
    def _write(path: Path, chunks: Iterable[bytes]) -> int:
        """Write an entry (magic, checksum, payload) under a temporary name, then rename
        it into place; returns its size. The checksum, known only at the end, goes into
        the room left for it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC + bytes(_DIGEST))
                digest = hashlib.sha256()
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                size = out.tell()
                out.seek(len(_MAGIC))
                out.write(digest.digest())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return size

    def _unwritable(self, exc: OSError) -> OutputError:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        return OutputError(
            f"cannot write the cache at {self.root} ({exc.strerror or exc})",
            ("free some space there" if full else "make the folder writable")
            + ", set cache_dir in narrator.toml to another folder, or build with --no-cache",
        )

    @staticmethod
    def _remove(path: Path) -> None:
        """Remove an entry if the folder allows; a read-only cache is still read."""
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)

    def _keep_cap(self, added: int) -> None:
        """Evict as entries are put, so a long build never grows the cache far past its cap."""
        grown = _grown.get(self._base, 0) + added
        if grown >= max(1, self.max_bytes // _CHECK_SHARE):
            self.evict()
            grown = 0
        _grown[self._base] = grown

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(time, size, path) of each entry, by scanning the layout's folders: a rebuild
        checks the cap over every segment of the essay, and os.scandir takes half the
        time Path.glob does."""
        found = []
        for kind in _folders(self._base):
            for prefix in _folders(kind):
                for entry in _scan(prefix):
                    try:
                        stat = entry.stat()
                    except OSError:
                        continue
                    if not entry.name.startswith(".tmp-"):
                        found.append((stat.st_mtime, stat.st_size, Path(entry.path)))
                    elif time.time() - stat.st_mtime > _STALE_TEMP_S:
                        self._remove(Path(entry.path))  # left by a build that was killed
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
            self._remove(path)
            total -= size
            removed += 1
        return removed

    def _mark(self) -> None:
        """Say in the root that this folder is narrator's cache (once per instance)."""
        if not self._marked:
            marker = self.root / MARKER
            with contextlib.suppress(FileExistsError), marker.open("x", encoding="utf-8") as out:
                out.write(json.dumps({"narrator cache schema": SCHEMA}) + "\n")
            self._marked = True

    def clear(self) -> int:
        """Remove every entry, of this schema and older ones; returns how many there were.

        Only from a folder marked as narrator's cache, and only files in its own layout,
        named as its entries and holding one: `cache_dir` may name a folder that holds
        other things too. Emptied layout folders go; nothing else does."""
        if not self.root.exists():
            return 0
        if not (self.root / MARKER).is_file():
            raise OutputError(
                f"{self.root} is not narrator's cache (it has no {MARKER}); nothing was removed",
                "check the cache_dir setting and $NARRATOR_CACHE_DIR",
            )
        removed = 0
        for version in self.root.iterdir():
            if not _LAYOUT[0].fullmatch(version.name) or version.is_symlink():
                continue
            for folder, _, names in os.walk(version, topdown=False):  # symlinks not followed
                parts = Path(folder).relative_to(self.root).parts
                if len(parts) > len(_LAYOUT) or not all(
                    rule.fullmatch(part) for rule, part in zip(_LAYOUT, parts, strict=False)
                ):
                    continue
                for name in names:
                    if len(parts) == len(_LAYOUT) and _is_entry(Path(folder, name)):
                        Path(folder, name).unlink(missing_ok=True)
                        removed += not name.startswith(".")
                with contextlib.suppress(OSError):  # not empty: something else lives there
                    os.rmdir(folder)
        return removed


def _scan(folder: str | Path) -> list[os.DirEntry[str]]:
    """What `folder` holds; nothing when it is missing or unreadable."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []


def _folders(folder: str | Path) -> list[str]:
    return [entry.path for entry in _scan(folder) if entry.is_dir()]


def _is_entry(path: Path) -> bool:
    """Whether `path` is a file narrator wrote: an entry (named by its key, starting with
    the magic of some schema) or a temporary one."""
    if not _ENTRY.fullmatch(path.name) or path.is_symlink() or not path.is_file():
        return False
    if path.name.startswith(".tmp-"):
        return True
    with path.open("rb") as entry:
        return entry.read(len(_MAGIC) - 1) == _MAGIC[:-1]
