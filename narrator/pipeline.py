"""The pipeline: read an essay into a script, plan its episode, and build it.

`prepare` reads, parses and marks up an essay (no audio: `narrator script` stops there);
`build_all` is the only build loop: several essays share one pool of speech workers. The
pipeline returns results; the CLI renders them.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from narrator import __version__
from narrator.atomic import atomic_output
from narrator.audio.assemble import (
    CHAPTERS,
    ChapterSpec,
    ClipSource,
    EncodedChapter,
    Framing,
    chapter_specs,
    encode_chapter,
    framing_pcm,
    join_chapters,
)
from narrator.audio.cover import Cover
from narrator.audio.produce import produce
from narrator.speech.pool import Speech, speak_all
from narrator.audio.tag import MAX_CHAPTERS, EpisodeTags, write_tags
from narrator.cache import AudioCache, content_key, default_cache_dir
from narrator.config import Settings, load_settings
from narrator.errors import InputError, OutputError
from narrator.ffmpeg import ffmpeg_version, find_ffmpeg
from narrator.model import Essay, ProgressCallback, Script, Timeline, Utterance, utterance_of
from narrator.speech.engine import SAMPLE_RATE, EngineConfig, Prosody
from narrator.speech.language import voice_language
from narrator.speech.pool import SEGMENTS, Voice, utterance_keys

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
    from narrator.text.parse import parse_essay
    from narrator.text.source import read_source

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
    from narrator.text.markup import MARKUP_REVISION, build_script, script_from_json, script_to_json

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


@dataclass(frozen=True)
class BuildResult:
    output: Path
    title: str
    author: str | None
    timeline: Timeline
    segments: int
    reused_segments: int
    reused_chapters: int
    sidecars: tuple[Path, ...]
    words: int
    stage_seconds: Mapping[str, float]  # from the build's start: synthesis and encoding overlap
    seconds: float  # the whole build, parsing included


def output_path(essay_path: Path, out: Path | None, settings: Settings) -> Path:
    """Where the MP3 goes: `out` (a file, or a folder to put NAME.mp3 in), else the
    output folder. Only the output folder from the settings is created (by `build`, once
    there is audio to write); a missing folder in `-o` is an error, as it is often a typo."""
    name = f"{essay_path.stem}.{settings.format}"
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


def cover_for(prepared: Prepared) -> Cover:
    """The user's cover (a path relative to the essay's folder), else a generated one."""
    from narrator.audio.cover import generated_cover, user_cover

    settings, essay = prepared.settings, prepared.essay
    if settings.cover:
        folder = prepared.essay_path.resolve().parent
        return user_cover(folder / Path(settings.cover).expanduser())
    return generated_cover(essay.title, essay.author)


def _voice(settings: Settings) -> Voice:
    return Voice(
        EngineConfig(
            settings.voice, settings.espeak_library, settings.espeak_data, settings.engine
        ),
        Prosody(settings.rate, settings.pitch, settings.volume),
    )


def same_voice(one: Settings, other: Settings) -> bool:
    """Whether two builds can share speech workers (one engine per worker, one voice)."""
    return _voice(one).engine == _voice(other).engine


@dataclass(frozen=True)
class ChapterPlan:
    """What a build would do for one chapter: segments to synthesize and to reuse."""

    title: str
    synthesize: int
    reuse: int


def _specs(prepared: Prepared, ffmpeg: str) -> tuple[dict[Utterance, str], list[ChapterSpec]]:
    settings = prepared.settings
    keys = utterance_keys(prepared.script, _voice(settings))
    folder = prepared.essay_path.resolve().parent
    framing = Framing(
        *(
            framing_pcm(folder / Path(name).expanduser(), ffmpeg, SAMPLE_RATE, fade_in, fade_out)
            if name
            else b""
            for name, fade_in, fade_out in ((settings.intro, 0.5, 1.5), (settings.outro, 1.0, 2.0))
        )
    )
    specs = chapter_specs(prepared.script, keys, settings.audio, ffmpeg_version(ffmpeg), framing)
    return keys, specs


def plan(prepared: Prepared, use_cache: bool = True) -> list[ChapterPlan]:
    """What `build` would synthesize and reuse, per chapter, without doing any of it.

    A chapter whose encoding is cached reuses all its segments; otherwise each segment
    whose clip is cached is reused.
    """
    keys, specs = _specs(prepared, find_ffmpeg(prepared.settings.ffmpeg))
    cache = open_cache(prepared.settings) if use_cache else None
    plans = []
    for spec in specs:
        if cache is not None and cache.has(CHAPTERS, spec.key):
            reuse = len(spec.parts)
        else:
            reuse = sum(cache is not None and cache.has(SEGMENTS, keys[u]) for u, _ in spec.parts)
        plans.append(ChapterPlan(spec.title, len(spec.parts) - reuse, reuse))
    return plans


def write_sidecars(
    output: Path, script: Script, timeline: Timeline, sentence_ms: int, cover: Cover
) -> tuple[Path, ...]:
    """NAME.chapters.json, NAME.vtt and the cover image (NAME.jpg or .png) beside the MP3,
    each written atomically; `narrator feed` links them."""
    from narrator.publish.sidecars import chapters_json, sentence_cues, webvtt

    cues = sentence_cues(script.chapters, timeline, sentence_ms)
    files = {
        output.with_suffix(".chapters.json"): chapters_json(timeline).encode(),
        output.with_suffix(".vtt"): webvtt(cues).encode(),
        output.with_suffix(".png" if cover.mime == "image/png" else ".jpg"): cover.data,
    }
    for path, data in files.items():
        with atomic_output(path) as temp:
            temp.write_bytes(data)
    return tuple(files)


def build(
    prepared: Prepared,
    cover: Cover,
    output: Path,
    progress: ProgressCallback | None = None,
    use_cache: bool = True,
    pool: ProcessPoolExecutor | None = None,
) -> BuildResult:
    """Synthesize, assemble, encode and tag the episode into `output` (with `pool`'s
    workers when several builds share them)."""
    begun = time.perf_counter()
    settings, script, essay = prepared.settings, prepared.script, prepared.essay
    if len(script.chapters) > MAX_CHAPTERS:
        raise InputError(
            f"the essay has {len(script.chapters)} chapters; MP3 chapter lists hold at most"
            f" {MAX_CHAPTERS}",
            "merge some headings",
        )
    ffmpeg = find_ffmpeg(settings.ffmpeg)
    cache = open_cache(settings) if use_cache else None
    keys, specs = _specs(prepared, ffmpeg)
    tags = EpisodeTags(
        title=essay.title,
        author=essay.author,
        album=essay.title,
        date=essay.date,
        generator=f"narrator {__version__}",
        source_sha256=prepared.source_sha256,
        cover=cover,
        language=settings.language or voice_language(settings.voice),
    )
    seconds = {"parse": prepared.seconds}
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="narrator-")))
        # without the cache, clips still wait on disk (not in memory) for their chapter
        store = cache if cache is not None else AudioCache(scratch / "clips", 1 << 62)
        speech = Speech(_voice(settings), keys, store, settings.jobs, pool, stack)
        if settings.format == "m4b":
            from narrator.audio.m4b import write_m4b

            started = time.perf_counter()
            needed = list(dict.fromkeys(u for spec in specs for u, _ in spec.parts))
            spoken = speak_all(speech, needed, progress)
            seconds["synthesize"] = time.perf_counter() - started
            output.parent.mkdir(parents=True, exist_ok=True)  # only once there is audio
            with atomic_output(output) as temp:
                timeline = write_m4b(
                    specs, speech.clip, SAMPLE_RATE, settings.audio, temp, ffmpeg, tags
                )
            seconds["assemble and encode"] = time.perf_counter() - started
            made, reused_chapters = spoken | speech.respoken, 0  # respoken while encoding
        else:
            fmt = settings.audio

            def encode(spec: ChapterSpec, clip_of: ClipSource) -> EncodedChapter:
                return encode_chapter(spec, clip_of, SAMPLE_RATE, fmt, ffmpeg)

            produced = produce(specs, speech, cache, scratch, encode, settings.jobs, progress)
            seconds.update(produced.seconds)
            output.parent.mkdir(parents=True, exist_ok=True)  # only once there is audio
            with atomic_output(output) as temp:
                timeline = join_chapters(specs, produced.chapters, fmt, temp)
                started = time.perf_counter()
                write_tags(temp, tags, timeline)
                seconds["tag"] = time.perf_counter() - started
            made, reused_chapters = produced.synthesized, produced.reused_chapters
    sidecars = write_sidecars(output, script, timeline, settings.pauses.sentence_ms, cover)
    if cache is not None:
        cache.evict()
    segments = [s for chapter in script.chapters for s in chapter.segments]
    return BuildResult(
        output=output,
        title=essay.title,
        author=essay.author,
        timeline=timeline,
        segments=len(segments),
        reused_segments=sum(utterance_of(s) not in made for s in segments),
        reused_chapters=reused_chapters,
        sidecars=sidecars,
        words=sum(len(s.text.split()) for s in segments),
        stage_seconds=seconds,
        seconds=prepared.seconds + time.perf_counter() - begun,
    )


def say(text: str, settings: Settings, out: Path) -> str:
    """Speak `text` as a build would (lexicon, normalization, voice) into `out`: a WAV
    file, or an MP3 when `out` ends in .mp3. Returns the text as spoken."""
    import wave

    from narrator.audio.assemble import encode_args
    from narrator.ffmpeg import convert
    from narrator.speech.registry import make_engine
    from narrator.speech.trim import trim_silence

    if out.suffix.lower() not in (".wav", ".mp3"):
        raise OutputError(f"cannot write {out.name}: not .wav or .mp3", "use -o NAME.wav")
    if not out.parent.is_dir():
        raise OutputError(f"output folder {out.parent} does not exist", "create it first")
    spoken = " ".join(settings.reading(text).split())
    if not spoken:
        raise InputError("there is nothing to say", 'pass some text: narrator say "Shue"')
    voice = _voice(settings)
    engine = make_engine(voice.engine)
    pcm = trim_silence(engine.synthesize(spoken, voice.prosody).pcm, SAMPLE_RATE)
    with atomic_output(out) as temp:
        if out.suffix.lower() == ".mp3":
            args = encode_args(SAMPLE_RATE, settings.audio, 0.0)  # the build's own encoder
            temp.write_bytes(convert(find_ffmpeg(settings.ffmpeg), args, pcm))
        else:
            with wave.open(str(temp), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(SAMPLE_RATE)
                wav.writeframes(pcm)
    return spoken
