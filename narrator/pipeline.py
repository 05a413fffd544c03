"""The pipeline: read an essay into a script, plan its episode once, and build it.

    essay file -> prepare (text/: read, parse, mark up; settings) -> Prepared
    Prepared   -> plan_episode (voice, cache keys, chapter specs, tags) -> EpisodePlan
    EpisodePlan -> build (speech/ + audio/: speak, level, encode, tag; publish/: sidecars)

`build_all` holds the only build loop: several essays share one pool of speech workers.
The pipeline returns results and reports progress through a `Reporter`; the CLI renders.
Heavy modules (the engines, mutagen, Pillow) are imported by the functions that need them,
so `narrator script` and `--help` start fast.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from narrator import __version__
from narrator.atomic import atomic_output
from narrator.cache import AudioCache, content_key, default_cache_dir
from narrator.config import Overrides, Settings, load_settings
from narrator.errors import InputError, OutputError
from narrator.ffmpeg import find_ffmpeg
from narrator.model import Essay, ProgressCallback, Script, Timeline, utterance_of

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from narrator.audio.assemble import ChapterSpec
    from narrator.audio.cover import Cover
    from narrator.audio.tag import EpisodeTags
    from narrator.model import Utterance
    from narrator.speech.pool import Voice

log = logging.getLogger(__name__)
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
    overrides: Overrides = Overrides(),
    config_file: Path | None = None,
    use_cache: bool = True,
) -> Prepared:
    """Read and parse the essay once, resolve its settings and build its script (no audio)."""
    from narrator.text.parse import parse_draft, titled
    from narrator.text.source import read_source

    started = time.perf_counter()
    source = read_source(essay_path)
    draft = parse_draft(source)
    settings = load_settings(essay_path, draft.front_matter, overrides, config_file)
    essay = titled(draft, essay_path, settings.title)
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


def voice_of(settings: Settings) -> Voice:
    """The engine and prosody the settings ask for: where the speaking rate leaves the
    settings for the speech stage."""
    from narrator.speech.engine import EngineConfig, Prosody
    from narrator.speech.espeak import EspeakConfig
    from narrator.speech.pool import Voice

    engine: EngineConfig = (
        EspeakConfig(settings.voice, library=settings.espeak_library, data=settings.espeak_data)
        if settings.engine == "espeak"
        else EngineConfig(settings.voice, settings.engine)
    )
    return Voice(engine, Prosody(settings.rate, settings.pitch, settings.volume))


@dataclass(frozen=True)
class EpisodePlan:
    """Everything a build of one essay needs, decided before any audio is made."""

    prepared: Prepared
    output: Path
    voice: Voice
    keys: Mapping[Utterance, str]  # each distinct utterance's cache key
    specs: tuple[ChapterSpec, ...]  # each chapter's parts and cache key
    tags: EpisodeTags
    ffmpeg: str


def plan_episode(prepared: Prepared, output: Path, with_cover: bool = True) -> EpisodePlan:
    """Plan the episode: the cover (the user's, checked, else a generated one), the intro
    and outro, the cache keys and chapter specs. Fails here, before any audio, on a bad
    cover, jingle or engine setting."""
    from narrator.audio.assemble import MP3, PCM, Framing, chapter_specs, framing_pcm
    from narrator.audio.produce import voice_key
    from narrator.audio.tag import MAX_CHAPTERS, EpisodeTags
    from narrator.speech.engine import SAMPLE_RATE
    from narrator.speech.pool import utterance_keys

    settings, script, essay = prepared.settings, prepared.script, prepared.essay
    if len(script.chapters) > MAX_CHAPTERS:
        raise InputError(
            f"the essay has {len(script.chapters)} chapters; MP3 chapter lists hold at most"
            f" {MAX_CHAPTERS}",
            "merge some headings",
        )
    ffmpeg = find_ffmpeg(settings.ffmpeg)
    voice = voice_of(settings)
    keys = utterance_keys(script, voice)
    folder = prepared.essay_path.resolve().parent
    framing = Framing(
        *(
            framing_pcm(folder / Path(name).expanduser(), ffmpeg, SAMPLE_RATE, fade_in, fade_out)
            if name
            else b""
            for name, fade_in, fade_out in ((settings.intro, 0.5, 1.5), (settings.outro, 1.0, 2.0))
        )
    )
    mode = PCM if settings.format == "m4b" else MP3
    specs = chapter_specs(script, keys, settings.audio, voice_key(voice), mode, framing)
    tags = EpisodeTags(
        title=essay.title,
        author=essay.author,
        album=essay.title,
        year=essay.date[:4] if essay.date and essay.date[:4].isdigit() else None,
        generator=f"narrator {__version__}",
        source_sha256=prepared.source_sha256,
        cover=_cover(prepared) if with_cover else None,
    )
    return EpisodePlan(prepared, output, voice, keys, tuple(specs), tags, ffmpeg)


def _cover(prepared: Prepared) -> Cover:
    """The user's cover (a path relative to the essay's folder), else a generated one."""
    from narrator.audio.cover import generated_cover, user_cover

    settings, essay = prepared.settings, prepared.essay
    if settings.cover:
        folder = prepared.essay_path.resolve().parent
        return user_cover(folder / Path(settings.cover).expanduser())
    return generated_cover(essay.title, essay.author)


@dataclass(frozen=True)
class ChapterPlan:
    """What a build would do for one chapter: segments to synthesize and to reuse."""

    title: str
    synthesize: int
    reuse: int


def chapter_plans(plan: EpisodePlan, use_cache: bool = True) -> list[ChapterPlan]:
    """What `build` would synthesize and reuse, per chapter, without doing any of it.

    A segment is reused when its encoded unit or its clip is cached.
    """
    from narrator.audio.assemble import UNITS
    from narrator.speech.pool import SEGMENTS

    cache = open_cache(plan.prepared.settings) if use_cache else None
    plans = []
    for spec in plan.specs:
        reuse = 0
        if cache is not None:
            for unit in spec.units:
                whole = cache.has(UNITS, unit.key)
                reuse += sum(whole or cache.has(SEGMENTS, plan.keys[u]) for u, _ in unit.parts)
        count = len(spec.utterances)
        plans.append(ChapterPlan(spec.title, count - reuse, reuse))
    return plans


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
    stage_seconds: Mapping[str, float]  # wall time of each stage
    seconds: float  # the whole build, parsing included
    stage_cpu: Mapping[str, float] = field(default_factory=dict)  # CPU, workers' included


class Reporter(Protocol):
    """How a build tells people what it does (report.py renders it; tests may listen)."""

    def progress(self) -> AbstractContextManager[ProgressCallback | None]: ...

    def planned(self, plans: list[ChapterPlan], target: Path) -> None: ...

    def built(self, result: BuildResult) -> None: ...


@dataclass(frozen=True)
class BuildRequest:
    """What `narrator build` was asked to do."""

    essays: tuple[Path, ...]  # essays, or folders of them
    output: Path | None = None  # a file (one essay) or a folder; None: the output_dir setting
    overrides: Overrides = Overrides()
    config_file: Path | None = None
    use_cache: bool = True
    dry_run: bool = False  # only plan: read the cache, write nothing


def build_all(request: BuildRequest, reporter: Reporter) -> list[BuildResult]:
    """Build every essay asked for, one after another, sharing one pool of speech workers.

    Every essay is read, checked and planned (cover, intro, outro, voice) before any audio
    is made, so a mistake in the last essay costs no time."""
    from narrator.speech.pool import synthesis_pool

    paths = essays_in(request.essays)
    output = request.output
    if len(paths) > 1 and output is not None and not output.is_dir():
        raise OutputError(
            f"several essays need an output folder, and {output} is not one",
            "create the folder or leave out -o to use audio/",
        )
    use = request.use_cache and not request.dry_run  # a dry run writes not even the script
    prepared = [prepare(path, request.overrides, request.config_file, use) for path in paths]
    targets = [output_path(p.essay_path, output, p.settings) for p in prepared]
    plans = [
        plan_episode(one, target, with_cover=not request.dry_run)
        for one, target in zip(prepared, targets, strict=True)
    ]
    if request.dry_run:
        for plan in plans:
            reporter.planned(chapter_plans(plan, request.use_cache), plan.output)
        return []
    results = []
    with synthesis_pool(prepared[0].settings.jobs) as pool:
        for plan in plans:
            # workers serve one voice: essays with other voice settings get their own
            shared = pool if plan.voice.engine == plans[0].voice.engine else None
            with reporter.progress() as progress:
                result = build(plan, progress, request.use_cache, shared)
            reporter.built(result)
            results.append(result)
    return results


def build(
    plan: EpisodePlan,
    progress: ProgressCallback | None = None,
    use_cache: bool = True,
    pool: ProcessPoolExecutor | None = None,
) -> BuildResult:
    """Speak, level, encode and tag the planned episode into its output, then write its
    sidecars (with `pool`'s workers when several builds share them). MP3 and m4b alike go
    through the producer: each unit is spoken, levelled and (for MP3) encoded and cached
    in a worker; the units are then joined."""
    from narrator.audio.assemble import MP3, PCM, join_mp3
    from narrator.audio.produce import Producer, cpu_seconds
    from narrator.audio.tag import write_tags
    from narrator.publish.sidecars import write_sidecars
    from narrator.speech.pool import Speech

    begun = time.perf_counter()
    prepared, settings, ffmpeg = plan.prepared, plan.prepared.settings, plan.ffmpeg
    fmt, output = settings.audio, plan.output
    cache = open_cache(settings) if use_cache else None
    m4b = settings.format == "m4b"
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="narrator-")))
        # without the cache, clips and units still wait on disk (not in memory)
        store = cache if cache is not None else AudioCache(scratch / "store", 1 << 62)
        speech = Speech(plan.voice, plan.keys, store, settings.jobs, pool, stack)
        # levelled PCM for m4b is not cached: the cache keeps MP3 frames
        units = AudioCache(scratch / "pcm", 1 << 62) if m4b else store
        producer = Producer(speech, units, fmt, PCM if m4b else MP3)
        produced = producer.produce(plan.specs, progress)
        seconds = {"parse": prepared.seconds, **produced.seconds}
        cpu = dict(produced.cpu)
        output.parent.mkdir(parents=True, exist_ok=True)  # only once there is audio
        started, used = time.perf_counter(), cpu_seconds()
        with atomic_output(output) as temp:
            if m4b:
                from narrator.audio.m4b import write_m4b

                timeline = write_m4b(plan.specs, producer.encoded, fmt, temp, ffmpeg, plan.tags)
                seconds["join and encode AAC"] = time.perf_counter() - started
                cpu["join and encode AAC"] = cpu_seconds() - used
            else:
                timeline = join_mp3(plan.specs, producer.encoded, fmt, temp)
                seconds["join"] = time.perf_counter() - started
                cpu["join"] = cpu_seconds() - used
                started, used = time.perf_counter(), cpu_seconds()
                write_tags(temp, plan.tags, timeline)
                seconds["tag"] = time.perf_counter() - started
                cpu["tag"] = cpu_seconds() - used
    assert plan.tags.cover is not None  # a build plans with its cover
    script = prepared.script
    sidecars = write_sidecars(
        output, script, timeline, settings.pauses.sentence_ms, plan.tags.cover
    )
    if cache is not None:
        cache.evict()
    segments = [s for chapter in script.chapters for s in chapter.segments]
    synthesized = produced.synthesized | producer.remade
    return BuildResult(
        output=output,
        title=prepared.essay.title,
        author=prepared.essay.author,
        timeline=timeline,
        segments=len(segments),
        reused_segments=sum(utterance_of(s) not in synthesized for s in segments),
        reused_chapters=produced.reused_chapters,
        sidecars=sidecars,
        words=sum(len(s.text.split()) for s in segments),
        stage_seconds=seconds,
        seconds=prepared.seconds + time.perf_counter() - begun,
        stage_cpu=cpu,
    )


def say(text: str, settings: Settings, out: Path) -> str:
    """Speak `text` as a build would (lexicon, normalization, voice) into `out`: a WAV
    file, or an MP3 when `out` ends in .mp3. Returns the text as spoken."""
    import wave

    from narrator.audio.assemble import encode_mp3
    from narrator.audio.level import levelled, samples_of
    from narrator.speech import registry
    from narrator.speech.engine import SAMPLE_RATE
    from narrator.speech.trim import trim_silence

    if out.suffix.lower() not in (".wav", ".mp3"):
        raise OutputError(f"cannot write {out.name}: not .wav or .mp3", "use -o NAME.wav")
    if not out.parent.is_dir():
        raise OutputError(f"output folder {out.parent} does not exist", "create it first")
    spoken = " ".join(settings.reading(text).split())
    if not spoken:
        raise InputError("there is nothing to say", 'pass some text: narrator say "Shue"')
    voice = voice_of(settings)
    engine = registry.make_engine(voice.engine)
    pcm = trim_silence(engine.synthesize(spoken, voice.prosody).pcm, SAMPLE_RATE)
    with atomic_output(out) as temp:
        if out.suffix.lower() == ".mp3":
            # the build's own encoder, its peaks limited
            samples = levelled(samples_of(pcm), SAMPLE_RATE, 0.0)
            temp.write_bytes(encode_mp3(samples, SAMPLE_RATE, settings.audio)[0])
        else:
            with wave.open(str(temp), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(SAMPLE_RATE)
                wav.writeframes(pcm)
    return spoken
