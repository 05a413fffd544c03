"""Wire the stages: read -> parse -> markup -> synthesize -> assemble -> tag -> publish.

The pipeline returns results; the CLI renders them.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from narrator import __version__
from narrator.config import Settings, load_settings
from narrator.errors import InputError, OutputError
from narrator.model import Essay, ProgressCallback, Script, Timeline


@dataclass(frozen=True)
class Prepared:
    """An essay read, parsed and turned into a script, with the settings in force."""

    essay_path: Path
    source_sha256: str
    essay: Essay
    script: Script
    settings: Settings


@dataclass(frozen=True)
class BuildResult:
    output: Path
    title: str
    author: str | None
    timeline: Timeline
    segments: int
    words: int
    stage_seconds: Mapping[str, float]


def prepare(
    essay_path: Path, flags: Mapping[str, Any], config_file: Path | None = None
) -> Prepared:
    """Read and parse the essay, resolve its settings and build its script (no audio)."""
    from narrator.markup import build_script
    from narrator.parse import parse_essay
    from narrator.source import read_source

    source = read_source(essay_path)
    essay = parse_essay(source, title=flags.get("title"))
    settings = load_settings(essay_path, essay.front_matter, flags, config_file)
    if settings.title and settings.title != essay.title:
        essay = parse_essay(source, title=settings.title)
    if settings.author:
        essay = replace(essay, author=settings.author)
    script = build_script(essay, settings.pauses)
    return Prepared(essay_path, source.sha256, essay, script, settings)


def output_path(essay_path: Path, out: Path | None, settings: Settings) -> Path:
    """Where the MP3 goes: `out` (a file, or a folder to put NAME.mp3 in), else the
    output folder. Only the output folder from the settings is created (by `build`, once
    there is audio to write); a missing folder in `-o` is an error, as it is often a typo."""
    name = f"{essay_path.stem}.mp3"
    if out is None:
        return Path(settings.output_dir) / name
    if out.is_dir():
        return out / name
    if str(out).endswith(("/", os.sep)):
        raise OutputError(f"output folder {out} does not exist", "create it or choose another -o")
    if not out.parent.is_dir():
        raise OutputError(
            f"output folder {out.parent} does not exist", "create it or choose another -o path"
        )
    return out


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def build(
    prepared: Prepared, output: Path, progress: ProgressCallback | None = None
) -> BuildResult:
    """Synthesize, assemble, encode and tag the episode into `output`."""
    from narrator.assemble import assemble
    from narrator.engine import SAMPLE_RATE, EngineConfig, Prosody
    from narrator.ffmpeg import find_ffmpeg
    from narrator.synthesize import Voice, synthesize_script
    from narrator.tag import MAX_CHAPTERS, EpisodeTags, write_tags

    settings, script, essay = prepared.settings, prepared.script, prepared.essay
    if len(script.chapters) > MAX_CHAPTERS:
        raise InputError(
            f"the essay has {len(script.chapters)} chapters; MP3 chapter lists hold at most"
            f" {MAX_CHAPTERS}",
            "merge some headings",
        )
    ffmpeg = find_ffmpeg(settings.ffmpeg)
    voice = Voice(
        EngineConfig(settings.voice, settings.espeak_library, settings.espeak_data),
        Prosody(settings.rate, settings.pitch, settings.volume),
    )
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    clips = synthesize_script(script, voice, settings.jobs, progress)
    seconds["synthesize"] = time.perf_counter() - started
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(output) as temp:
        started = time.perf_counter()
        timeline = assemble(script, clips, SAMPLE_RATE, settings.audio, temp, ffmpeg, progress)
        seconds["assemble and encode"] = time.perf_counter() - started
        started = time.perf_counter()
        tags = EpisodeTags(
            title=essay.title,
            author=essay.author,
            album=essay.title,
            year=essay.date[:4] if essay.date and essay.date[:4].isdigit() else None,
            generator=f"narrator {__version__}",
            source_sha256=prepared.source_sha256,
        )
        write_tags(temp, tags, timeline)
        seconds["tag"] = time.perf_counter() - started
    segments = [s for chapter in script.chapters for s in chapter.segments]
    return BuildResult(
        output=output,
        title=essay.title,
        author=essay.author,
        timeline=timeline,
        segments=len(segments),
        words=sum(len(s.text.split()) for s in segments),
        stage_seconds=seconds,
    )
