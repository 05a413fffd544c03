"""Read an essay, resolve its settings and turn it into a script: everything before audio.

Kept apart from the audio pipeline so that `narrator script` and the other commands that
only read essays start without importing the engine, pydub, mutagen or Pillow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from narrator import __version__
from narrator.cache import AudioCache, content_key, default_cache_dir
from narrator.config import Settings, load_settings
from narrator.errors import InputError
from narrator.model import Essay, Script

SCRIPTS = "scripts"  # cache kind: an essay's marked-up script, as JSON


@dataclass(frozen=True)
class Prepared:
    """An essay read, parsed and turned into a script, with the settings in force."""

    essay_path: Path
    source_sha256: str
    essay: Essay
    script: Script
    settings: Settings
    seconds: float  # reading, parsing and marking up


def prepare(
    essay_path: Path,
    flags: Mapping[str, Any],
    config_file: Path | None = None,
    use_cache: bool = True,
) -> Prepared:
    """Read and parse the essay, resolve its settings and build its script (no audio)."""
    from narrator.parse import parse_essay
    from narrator.source import read_source

    started = time.perf_counter()
    source = read_source(essay_path)
    essay = parse_essay(source, title=flags.get("title"))
    settings = load_settings(essay_path, essay.front_matter, flags, config_file)
    if settings.title and settings.title != essay.title:
        essay = parse_essay(source, title=settings.title)
    if settings.author:
        essay = replace(essay, author=settings.author)
    script = _script(essay, settings, open_cache(settings) if use_cache else None)
    seconds = time.perf_counter() - started
    return Prepared(essay_path, source.sha256, essay, script, settings, seconds)


def _script(essay: Essay, settings: Settings, cache: AudioCache | None) -> Script:
    """The essay's script, from the cache when this essay was marked up before.

    Sentence splitting is the slow part of reading a long essay; the key is the parsed
    essay itself (so any change to the text or metadata misses), the pauses and how text
    is read (lexicon, date order, URLs).
    """
    from narrator.markup import MARKUP_REVISION, build_script, script_from_json, script_to_json

    pauses, reading, opening = settings.pauses, settings.reading, settings.opening_line
    if cache is None:
        return build_script(essay, pauses, reading, opening)
    key = content_key(
        "script", MARKUP_REVISION, __version__, repr(essay), asdict(pauses), repr(reading), opening
    )
    cached = cache.get(SCRIPTS, key)
    if cached is not None:
        try:
            return script_from_json(json.loads(cached))
        except (ValueError, KeyError, TypeError):
            pass  # written by another version of narrator: make it again
    script = build_script(essay, pauses, reading, opening)
    cache.put(SCRIPTS, key, json.dumps(script_to_json(script), ensure_ascii=False).encode())
    return script


def essays_in(paths: Sequence[Path]) -> list[Path]:
    """The essays named: files as given, folders by their .md, .markdown and .txt files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p for p in path.iterdir() if p.suffix.lower() in (".md", ".markdown", ".txt")
            )
            if not inside:
                raise InputError(f"{path} holds no essays", "put .md or .txt files in it")
            found += inside
        else:
            found.append(path)
    return found


def open_cache(settings: Settings) -> AudioCache:
    """The audio cache in force: the cache_dir setting, $NARRATOR_CACHE_DIR or the default."""
    root = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
    return AudioCache(root, settings.cache_max_mb * 1024 * 1024)
