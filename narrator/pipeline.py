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

import hashlib
import json
import logging
import os
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from narrator import __version__
from narrator.atomic import atomic_output, file_chunks, scratch_dir, staged
from narrator.cache import AudioCache, content_key, default_cache_dir
from narrator.config import Overrides, Settings, find_config, load_settings
from narrator.errors import InputError, Interrupted, OutputError
from narrator.ffmpeg import FFMPEG_ENV, ffmpeg_version, find_ffmpeg
from narrator.model import Essay, ProgressCallback, Script, Timeline, utterance_of

if TYPE_CHECKING:
    from narrator.audio.assemble import ChapterSpec, ClipSource
    from narrator.audio.cover import Cover
    from narrator.audio.tag import EpisodeTags
    from narrator.model import Utterance
    from narrator.speech.cluster import Cluster
    from narrator.speech.pool import Voice, Workers

log = logging.getLogger(__name__)
SCRIPTS = "scripts"  # cache kind: an essay's marked-up script, as JSON
MEMOS = "memos"  # cache kind: sentence ends and readings of a script's pieces (_Memo), JSON
BUILT = "built"  # cache kind: what the last build of an output wrote (_unchanged_episode), JSON


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user and system) of this process, and of its children that have ended
    (ffmpeg processes as each finishes; speech workers when their pool shuts down)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, ended.ru_utime + ended.ru_stime


def _spent(since: tuple[float, float]) -> float:
    """CPU seconds this process and its ended children spent since `since`."""
    own, ended = cpu_seconds()
    return own - since[0] + ended - since[1]


@dataclass(frozen=True)
class Prepared:
    """An essay read, parsed and turned into a script, with the settings in force."""

    essay_path: Path
    source_sha256: str
    essay: Essay
    script: Script
    settings: Settings
    seconds: float  # reading, parsing and marking up
    cpu: float  # CPU seconds of the same
    warnings: tuple[str, ...] = ()  # words left out of the reading, by line (text/lexicon.py)
    config_path: Path | None = None  # the settings file read, if any


def prepare(
    essay_path: Path,
    overrides: Overrides = Overrides(),
    config_file: Path | None = None,
    use_cache: bool = True,
    marking_up: Callable[[Settings], None] | None = None,
) -> Prepared:
    """Read and parse the essay once, resolve its settings and build its script (no audio).
    `marking_up` is told the settings when the script is not in the cache (a new or edited
    essay) before it is made, the slow part."""
    from narrator.text.lexicon import reading_warnings
    from narrator.text.parse import parse_draft, titled
    from narrator.text.source import read_source

    started, cpu = time.perf_counter(), cpu_seconds()
    source = read_source(essay_path)
    draft = parse_draft(source)
    settings = load_settings(essay_path, draft.front_matter, overrides, config_file)
    essay = titled(draft, essay_path, settings.title)
    if settings.author:
        essay = replace(essay, author=settings.author)
    cache = open_cache(settings) if use_cache else None
    script = _script(essay, essay_path, settings, cache, marking_up)
    warnings = (*essay.warnings, *reading_warnings(essay, source.text, settings.reading))
    seconds = time.perf_counter() - started
    config_path = config_file or find_config(essay_path)
    return Prepared(
        essay_path,
        source.sha256,
        essay,
        script,
        settings,
        seconds,
        _spent(cpu),
        warnings,
        config_path,
    )


def _script(
    essay: Essay,
    essay_path: Path,
    settings: Settings,
    cache: AudioCache | None,
    marking_up: Callable[[Settings], None] | None = None,
) -> Script:
    """The essay's script, from the cache when this essay was marked up before.

    The key is the parsed essay itself (so any change to the text or metadata misses), the
    pauses and how text is read (lexicon, date order, URLs). An essay that changed is
    marked up again, with the sentence ends and readings of the pieces that did not change
    taken from the last script made (`_Memo`).
    """
    from narrator.text.markup import MARKUP_REVISION, build_script, script_from_json, script_to_json
    from narrator.text.sentences import sentence_ends

    pauses, reading, opening = settings.pauses, settings.reading, settings.opening_line
    if cache is None:
        if marking_up is not None:
            marking_up(settings)
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
    if marking_up is not None:
        marking_up(settings)
    # one memo per essay file, so that builds of two essays do not overwrite each other's
    revision = (MARKUP_REVISION, __version__, str(essay_path.resolve()))
    split = _Memo(cache, content_key("sentence ends", *revision), sentence_ends, _is_ends)
    read = _Memo(cache, content_key("readings", *revision, repr(reading)), reading, _is_text)
    script = build_script(essay, pauses, read, opening, split)
    cache.put(SCRIPTS, key, json.dumps(script_to_json(script), ensure_ascii=False).encode())
    split.save()
    read.save()
    return script


_T = TypeVar("_T")


class _Memo(Generic[_T]):
    """A pure function of a piece of text, its results for the pieces of the last script
    made remembered in one cache entry (`key`), so that marking up an edited essay splits
    and reads again only the pieces that changed: sentence splitting (pysbd) and
    normalization are most of the time reading an essay takes (emerson: 0.5 and 0.2 s).

    Another build may overwrite the entry with its own pieces' results: they are results of
    the same function, so only the time saved depends on which build wrote last. A value that
    does not pass `valid` (an entry another program wrote, say) is worked out again."""

    def __init__(
        self,
        cache: AudioCache,
        key: str,
        function: Callable[[str], _T],
        valid: Callable[[object], bool],
    ) -> None:
        self._cache, self._key, self._function, self._valid = cache, key, function, valid
        try:
            known = json.loads(cache.get(MEMOS, key) or b"{}")
        except ValueError:
            known = {}
        self._known: dict[str, object] = known if isinstance(known, dict) else {}
        self._used: dict[str, _T] = {}
        self._worked_out = 0

    def __call__(self, text: str) -> _T:
        if text not in self._used:
            found = self._known.get(text)
            if self._valid(found):
                self._used[text] = cast(_T, found)
            else:
                self._used[text] = self._function(text)
                self._worked_out += 1
        return self._used[text]

    def save(self) -> None:
        """Keep this script's results (only theirs: the entry does not grow with edits)."""
        if self._worked_out or len(self._used) != len(self._known):
            data = json.dumps(self._used, ensure_ascii=False).encode()
            self._cache.put(MEMOS, self._key, data)


def _is_ends(value: object) -> bool:
    return isinstance(value, list) and all(type(end) is int for end in value)


def _is_text(value: object) -> bool:
    return isinstance(value, str)


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


TOOLS = "tools"  # cache kind: the ffmpeg a build found, and its version


def _ffmpeg(settings: Settings, use_cache: bool) -> tuple[str, str]:
    """The ffmpeg to run and the first line of its `-version`, which goes into the keys of
    what it measures. Finding imageio-ffmpeg's binary and asking its version start ffmpeg
    twice (about 50 ms); the cache remembers both for as long as the binary is the same
    file (its size and modification time)."""
    cache = open_cache(settings) if use_cache else None
    asked = content_key("ffmpeg", settings.ffmpeg, os.environ.get(FFMPEG_ENV))
    found = cache.get(TOOLS, asked) if cache is not None else None
    try:
        known = json.loads(found or b"{}")
        seen = os.stat(known["path"])
        if [seen.st_size, seen.st_mtime_ns] == known["file"] and os.access(known["path"], os.X_OK):
            return str(known["path"]), str(known["version"])
    except (ValueError, TypeError, KeyError, OSError):
        pass  # not remembered, or not that file any more: found and asked again
    ffmpeg = find_ffmpeg(settings.ffmpeg)
    version = ffmpeg_version(ffmpeg)
    if cache is not None:
        seen = os.stat(ffmpeg)
        record = {"path": ffmpeg, "file": [seen.st_size, seen.st_mtime_ns], "version": version}
        cache.put(TOOLS, asked, json.dumps(record).encode())
    return ffmpeg, version


def open_cache(settings: Settings) -> AudioCache:
    """The audio cache in force: the cache_dir setting, $NARRATOR_CACHE_DIR or the default."""
    root = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
    return AudioCache(root, settings.cache_max_mb * 1024 * 1024)


def output_path(essay_path: Path, out: str | Path | None, settings: Settings) -> Path:
    """Where the MP3 goes: `out` (a file, or a folder to put NAME.mp3 in), else the
    output folder. `out` is as typed: a trailing slash names a folder. Only the output
    folder from the settings is created (by `build`, once there is audio to write); a
    missing folder in `-o` is an error, as it is often a typo, and so is a file name whose
    extension is not the format's."""
    suffix = f".{settings.format}"
    name = f"{essay_path.stem}{suffix}"
    if out is None:
        return Path(settings.output_dir) / name
    if Path(out).is_dir():
        return Path(out) / name
    if str(out).endswith(("/", os.sep)):
        raise OutputError(f"output folder {out} does not exist", "create it or choose another -o")
    out = Path(out)
    if not out.parent.is_dir():
        raise OutputError(
            f"output folder {out.parent} does not exist", "create it or choose another -o path"
        )
    _refuse_special(out)
    if out.suffix.lower() != suffix:
        found = f"ends in {out.suffix}" if out.suffix else "has no extension"
        raise OutputError(
            f"-o {out} {found}, but the episode is {settings.format.upper()}",
            f"name it {out.stem}{suffix}, or give a folder",
        )
    return out


def episode_inputs(prepared: Prepared) -> dict[Path, str]:
    """The files a build of this essay reads, each with what it is to the user."""
    settings, folder = prepared.settings, prepared.essay_path.resolve().parent
    found = {prepared.essay_path: "the essay"}
    if prepared.config_path is not None:
        found[prepared.config_path] = "the settings file"
    for role, name in (
        ("the cover", settings.cover),
        ("the intro", settings.intro),
        ("the outro", settings.outro),
    ):
        if name:  # relative to the essay's folder, as plan_episode reads them
            found[folder / Path(name).expanduser()] = role
    return found


def episode_files(output: Path) -> tuple[Path, ...]:
    """Every file a build of the episode `output` may write: the MP3 and its sidecars."""
    from narrator.publish.sidecars import sidecar_paths

    return (output, *sidecar_paths(output))


def _same_file(one: Path, other: Path) -> bool:
    if one.resolve() == other.resolve():
        return True
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them does not exist
        return False


def check_outputs(files: Sequence[Path], inputs: Mapping[Path, str]) -> None:
    """Refuse, before any work, to write where a build would destroy a file narrator did
    not make: over one of its inputs (under any name), or over anything that is not a
    regular file (a folder, a device such as /dev/null, a FIFO)."""
    for file in files:
        for source, role in inputs.items():
            if _same_file(file, source):
                raise OutputError(
                    f"the episode's {file.name} would replace {role}, {source};"
                    " nothing was written",
                    f"choose another -o, or rename {role}",
                )
        _refuse_special(file)


def _refuse_special(path: Path) -> None:
    """Refuse a path that exists and is not a regular file (or a link to one)."""
    if (path.exists() or path.is_symlink()) and not path.is_file():
        raise OutputError(
            f"{path} exists and is not a regular file; nothing was written",
            "choose another -o: narrator replaces only files",
        )


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
    encoder: str  # ffmpeg's version, in the keys of what it makes


def plan_episode(
    prepared: Prepared, output: Path, for_build: bool = True, use_cache: bool = True
) -> EpisodePlan:
    """Plan the episode: the cover (the user's, checked, else a generated one, kept in the
    cache), the intro and outro, the cache keys and chapter specs. Fails here, before any
    audio, on a bad cover, jingle or engine setting. Not `for_build` (a dry run), it plans
    without the cover and writes nothing to the cache."""
    from narrator.audio.assemble import Framing, chapter_specs, framing_pcm
    from narrator.audio.tag import MAX_CHAPTERS, EpisodeTags
    from narrator.speech.engine import SAMPLE_RATE
    from narrator.speech.language import voice_language
    from narrator.speech.pool import utterance_keys

    settings, script, essay = prepared.settings, prepared.script, prepared.essay
    if len(script.chapters) > MAX_CHAPTERS:
        raise InputError(
            f"the essay has {len(script.chapters)} chapters; MP3 chapter lists hold at most"
            f" {MAX_CHAPTERS}",
            "merge some headings",
        )
    check_outputs(episode_files(output), episode_inputs(prepared))
    ffmpeg, encoder = _ffmpeg(settings, use_cache and for_build)
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
    specs = chapter_specs(script, keys, settings.audio, encoder, framing)
    tags = EpisodeTags(
        title=essay.title,
        author=essay.author,
        album=essay.title,
        date=essay.date,
        generator=f"narrator {__version__}",
        source_sha256=prepared.source_sha256,
        cover=_cover(prepared, use_cache) if for_build else None,
        language=settings.language or voice_language(settings.voice),
    )
    return EpisodePlan(prepared, output, voice, keys, tuple(specs), tags, ffmpeg, encoder)


def _cover(prepared: Prepared, use_cache: bool) -> Cover:
    """The user's cover (a path relative to the essay's folder), else a generated one."""
    from narrator.audio.cover import generated_cover, user_cover

    settings, essay = prepared.settings, prepared.essay
    if settings.cover:
        folder = prepared.essay_path.resolve().parent
        return user_cover(folder / Path(settings.cover).expanduser())
    cache = open_cache(settings) if use_cache else None
    return generated_cover(essay.title, essay.author, cache=cache)


@dataclass(frozen=True)
class ChapterPlan:
    """What a build would do for one chapter: segments to synthesize and to reuse."""

    title: str
    synthesize: int
    reuse: int


def chapter_plans(plan: EpisodePlan, use_cache: bool = True) -> list[ChapterPlan]:
    """What `build` would synthesize and reuse, per chapter, without doing any of it.

    A block whose encoding is cached reuses all its segments; otherwise each segment
    whose clip is cached is reused.
    """
    from narrator.audio.assemble import CHAPTERS
    from narrator.speech.pool import SEGMENTS

    cache = open_cache(plan.prepared.settings) if use_cache else None
    counts: dict[int, tuple[str, int, int]] = {}
    for spec in plan.specs:
        if cache is not None and cache.has(CHAPTERS, spec.key):
            reuse = len(spec.parts)
        else:
            reuse = sum(
                cache is not None and cache.has(SEGMENTS, plan.keys[u]) for u, _ in spec.parts
            )
        _, synthesize, reused = counts.get(spec.chapter, (spec.title, 0, 0))
        counts[spec.chapter] = (spec.title, synthesize + len(spec.parts) - reuse, reused + reuse)
    return [ChapterPlan(*count) for count in counts.values()]


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
    # CPU seconds of each stage: what the speech workers spent speaking (synthesize), then
    # ffmpeg's and this process's
    stage_cpu: Mapping[str, float]
    seconds: float  # the whole build, parsing included
    cluster_workers: int | None = None  # cluster workers that spoke; None: the local pool
    up_to_date: bool = False  # nothing changed: the files already there were kept


class Reporter(Protocol):
    """How a build tells people what it does (report.py renders it; tests may listen)."""

    def progress(self) -> AbstractContextManager[ProgressCallback | None]: ...

    def planned(self, plans: list[ChapterPlan], target: Path) -> None: ...

    def built(self, result: BuildResult) -> None: ...

    def warn(self, message: str) -> None: ...


@dataclass(frozen=True)
class BuildRequest:
    """What `narrator build` was asked to do."""

    essays: tuple[Path, ...]  # essays, or folders of them
    # a file (one essay) or a folder, as typed ("x/" names a folder); None: output_dir setting
    output: str | Path | None = None
    overrides: Overrides = Overrides()
    config_file: Path | None = None
    use_cache: bool = True
    dry_run: bool = False  # only plan: read the cache, write nothing


def build_all(request: BuildRequest, reporter: Reporter) -> list[BuildResult]:
    """Build every essay asked for, one after another, sharing one pool of speech workers.

    Every essay is read, checked and planned (cover, intro, outro, voice) before any audio
    is made, so a mistake in the last essay costs no time."""
    from narrator.speech.cluster import connect
    from narrator.speech.pool import Workers

    paths = essays_in(request.essays)
    output = request.output
    if len(paths) > 1 and output is not None and not Path(output).is_dir():
        raise OutputError(
            f"several essays need an output folder, and {output} is not one",
            "create the folder or leave out -o to use audio/",
        )
    use = request.use_cache and not request.dry_run  # a dry run writes not even the script
    results: list[BuildResult] = []
    with ExitStack() as stack:
        shared: list[Workers] = []  # with the settings of the first essay to ask

        def marking_up(first: bool, settings: Settings) -> None:
            # a new or edited essay will have sentences to speak: start a speech worker
            # now, while the essay is read, with the first essay's voice ready (the
            # workers serve that voice only)
            if not shared:
                shared.append(Workers(settings.jobs, stack))
            if not request.dry_run and settings.cluster is None:
                shared[0].start_one(voice_of(settings) if first else None)

        prepared = [
            prepare(path, request.overrides, request.config_file, use, partial(marking_up, i == 0))
            for i, path in enumerate(paths)
        ]
        for one in prepared:
            for warning in one.warnings:
                reporter.warn(f"warning: {one.essay_path.name} {warning}")
        targets = [output_path(p.essay_path, output, p.settings) for p in prepared]
        plans = [
            plan_episode(one, target, for_build=not request.dry_run, use_cache=request.use_cache)
            for one, target in zip(prepared, targets, strict=True)
        ]
        _check_between(plans)
        if request.dry_run:
            for plan in plans:
                reporter.planned(chapter_plans(plan, request.use_cache), plan.output)
            return []
        first = prepared[0].settings
        workers = shared[0] if shared else Workers(first.jobs, stack)
        try:
            with connect(first.cluster) as cluster:
                for plan in plans:
                    # workers serve one voice: essays with other voice settings get their own
                    same = plan.voice.engine == plans[0].voice.engine
                    with reporter.progress() as progress:
                        result = build(
                            plan, progress, request.use_cache, workers if same else None, cluster
                        )
                    results.append(result)
                    reporter.built(result)
        except KeyboardInterrupt as exc:
            # an interrupt between builds, or once the last is written, must not read as if
            # nothing had been: say which episodes are complete
            if not results:
                raise
            done = ", ".join(str(r.output) for r in results)
            said = f"{exc}; " if isinstance(exc, Interrupted) else "interrupted; "
            raise Interrupted(f"{said}complete with their sidecars: {done}") from None
    return results


def _check_between(plans: Sequence[EpisodePlan]) -> None:
    """Refuse essays whose episodes would overwrite each other or another essay's inputs."""
    inputs = {path: role for plan in plans for path, role in episode_inputs(plan.prepared).items()}
    written: dict[Path, Path] = {}
    for plan in plans:
        check_outputs(episode_files(plan.output), inputs)
        other = written.setdefault(plan.output.resolve(), plan.prepared.essay_path)
        if other != plan.prepared.essay_path:
            raise OutputError(
                f"{other} and {plan.prepared.essay_path} would both be built into {plan.output}",
                "rename one of them",
            )


def build(
    plan: EpisodePlan,
    progress: ProgressCallback | None = None,
    use_cache: bool = True,
    workers: Workers | None = None,
    cluster: Cluster | None = None,
) -> BuildResult:
    """Speak, level, encode and tag the planned episode into its output, then write its
    sidecars (with shared `workers` when several builds share them). MP3 and m4b alike go
    through the producer: chapters are levelled (and, for MP3, encoded and cached) as soon
    as their clips exist. With a `cluster`, its workers speak the missing segments."""
    from narrator.audio.assemble import (
        SpooledChapter,
        VoiceLevel,
        chapter_timeline,
        encode_chapter,
        join_chapters,
    )
    from narrator.audio.mp3encode import load as load_encoder
    from narrator.audio.produce import Produced, produce
    from narrator.audio.tag import id3_tag
    from narrator.publish.sidecars import sidecar_files, sidecar_paths
    from narrator.speech.cluster import ClusterSpeech
    from narrator.speech.engine import LEVEL_REFERENCE, SAMPLE_RATE
    from narrator.speech.pool import Speech, Workers

    begun, cpu_begun = time.perf_counter(), cpu_seconds()
    prepared, settings, ffmpeg = plan.prepared, plan.prepared.settings, plan.ffmpeg
    fmt, output = settings.audio, plan.output
    cache = open_cache(settings) if use_cache else None
    m4b = settings.format == "m4b"
    assert plan.tags.cover is not None  # a build plans with its cover
    # the sidecars first, the MP3 last: all are replaced together, in this order
    targets = [*sidecar_paths(output, plan.tags.cover.mime), output]
    script = prepared.script
    built_key = _built_key(plan) if cache is not None else ""
    kept = _unchanged_episode(cache, built_key, targets) if cache is not None else None
    if kept is not None:
        log.info("up to date: %s", output)
        return _kept_result(plan, kept, targets, time.perf_counter() - begun)
    had_episode = output.exists()
    written: os.stat_result | None = None  # the new MP3, once complete under its temporary name
    try:
        with ExitStack() as stack:
            scratch = Path(stack.enter_context(scratch_dir("build")))
            # without the cache, clips still wait on disk (not in memory) for their chapter
            store = cache if cache is not None else AudioCache(scratch / "clips", 1 << 62)
            speech = (
                Speech(
                    plan.voice, plan.keys, store, workers or Workers(settings.jobs, stack), stack
                )
                if cluster is None
                else ClusterSpeech(cluster, plan.voice, plan.keys, store)
            )

            reference = content_key("level", plan.keys[LEVEL_REFERENCE], plan.encoder)
            voice = VoiceLevel(speech.clip, SAMPLE_RATE, ffmpeg, cache, reference)

            def encode(spec: ChapterSpec, clip_of: ClipSource, out: Path) -> SpooledChapter:
                # for m4b levelled PCM, encoded to AAC once the whole episode is there
                return encode_chapter(
                    spec, clip_of, SAMPLE_RATE, fmt, ffmpeg, out, voice.loudness, pcm=m4b
                )

            # an unchanged m4b comes whole from the cache; its chapters are not cached (the
            # chapter cache holds MP3 frames)
            m4b_key = _m4b_key(plan) if m4b and cache is not None else None
            episode = _cached_m4b(cache, m4b_key, scratch / "episode.m4b")
            produced = (
                Produced((), frozenset(), frozenset(range(len(plan.specs))), {})
                if episode is not None
                else produce(
                    plan.specs,
                    speech,
                    None if m4b else cache,
                    scratch,
                    encode,
                    settings.jobs,
                    progress,
                    None if m4b else load_encoder,
                )
            )
            seconds = {"parse": prepared.seconds, **produced.seconds}
            cpu = {"parse": prepared.cpu, "assemble and encode": _spent(cpu_begun)}
            try:
                output.parent.mkdir(parents=True, exist_ok=True)  # only once there is audio
                with staged(targets) as temps:
                    temp = temps[output]
                    if episode is not None:
                        offset, timeline = episode
                        with temp.open("wb") as file:
                            for chunk in file_chunks(scratch / "episode.m4b", offset):
                                file.write(chunk)
                    elif m4b:
                        from narrator.audio import m4b as m4b_file

                        timeline = m4b_file.write_m4b(
                            plan.specs, produced.chapters, fmt, temp, ffmpeg, plan.tags
                        )
                        seconds["assemble and encode"] = time.perf_counter() - begun
                        cpu["assemble and encode"] = _spent(cpu_begun)
                        if cache is not None and m4b_key is not None:
                            entry = partial(m4b_file.episode_entry, temp, timeline)
                            cache.put_chunks(m4b_file.EPISODES, m4b_key, entry)
                    else:
                        timeline = chapter_timeline(plan.specs, produced.chapters, fmt)
                        started, cpu_started = time.perf_counter(), cpu_seconds()
                        join_chapters(produced.chapters, temp, id3_tag(plan.tags, timeline))
                        seconds["join and tag"] = time.perf_counter() - started
                        cpu["join and tag"] = _spent(cpu_started)
                    sidecars = sidecar_files(
                        output, script, timeline, settings.pauses.sentence_ms, plan.tags.cover
                    )
                    for path, data in sidecars.items():
                        temps[path].write_bytes(data)
                    written = os.stat(temp)
            except (OSError, OutputError) as exc:
                unchanged = "; the previous episode is unchanged" if had_episode else ""
                if isinstance(exc, OutputError):  # a refused or full target, named by staged
                    message, hint = exc.message, exc.hint
                else:
                    message = f"cannot write {output}: {exc.strerror or exc}"
                    hint = "free some space or choose another -o"
                raise OutputError(f"{message}; nothing was written{unchanged}", hint) from None
        if cache is not None:
            _remember_episode(cache, built_key, targets, timeline)
            cache.evict()
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(output, written)) from None
    if cluster is None:  # a cluster's workers do not say
        cpu["synthesize"] = speech.cpu
    cpu = {name: cpu[name] for name in seconds if name in cpu}  # in the stages' order
    segments = script.segments
    return BuildResult(
        output=output,
        title=prepared.essay.title,
        author=prepared.essay.author,
        timeline=timeline,
        segments=len(segments),
        reused_segments=sum(utterance_of(s) not in produced.synthesized for s in segments),
        reused_chapters=len(
            {spec.chapter for spec in plan.specs}
            - {spec.chapter for i, spec in enumerate(plan.specs) if i not in produced.reused}
        ),
        sidecars=tuple(sidecars),
        words=sum(len(s.text.split()) for s in segments),
        stage_seconds=seconds,
        stage_cpu=cpu,
        seconds=prepared.seconds + time.perf_counter() - begun,
        cluster_workers=speech.workers,
    )


def _m4b_key(plan: EpisodePlan) -> str:
    from narrator.audio.m4b import episode_key

    settings = plan.prepared.settings
    return episode_key(plan.specs, settings.audio, plan.tags, plan.encoder)


def _cached_m4b(
    cache: AudioCache | None, key: str | None, out: Path
) -> tuple[int, Timeline] | None:
    """When an unchanged episode was built before: where its m4b starts in `out` (the
    cache entry, copied there), and its timeline."""
    from narrator.audio.m4b import cached_episode

    return cached_episode(cache, key, out) if cache is not None and key is not None else None


def _interrupted(output: Path, written: os.stat_result | None) -> str:
    """What an interrupted build left: the new episode is in place once its MP3 is (the
    files are replaced together, the MP3 last), else the old one, untouched, or none."""
    try:
        now = os.stat(output)
    except OSError:
        return "interrupted; nothing was written"
    if written is not None and (now.st_dev, now.st_ino) == (written.st_dev, written.st_ino):
        return f"interrupted; the new episode is complete: {output} and its sidecars"
    return f"interrupted; nothing was written: the previous episode {output} is unchanged"


_BUILT_FORMAT = 1  # of a BUILT entry


def _built_key(plan: EpisodePlan) -> str:
    """What an episode's files are made of: every block's key (its audio), the format,
    tags and cover (the MP3's tag), and the script and pause (the sidecars)."""
    prepared, tags = plan.prepared, plan.tags
    settings = prepared.settings
    cover = tags.cover
    return content_key(
        "built",
        _BUILT_FORMAT,
        __version__,
        plan.encoder,
        settings.format,
        asdict(settings.audio),
        [spec.key for spec in plan.specs],
        repr(replace(tags, cover=None)),
        [cover.mime, hashlib.sha256(cover.data).hexdigest()] if cover is not None else None,
        repr(prepared.script),
        settings.pauses.sentence_ms,
        plan.output.name,
    )


def _where(output: Path) -> str:
    return content_key("built at", str(output.resolve()))


def _stamp(path: Path) -> list[int]:
    """What changes when a file is written, replaced, touched or linked."""
    found = os.stat(path)
    return [found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns]


def _unchanged_episode(cache: AudioCache, key: str, targets: Sequence[Path]) -> Timeline | None:
    """The timeline of the episode already at `targets` (its sidecars, then the MP3 or
    m4b) when the last build there was made of the same (`key`) and no file has changed
    since: a rebuild of an unchanged essay then writes nothing."""
    found = cache.get(BUILT, _where(targets[-1]))
    if found is None:
        return None
    try:
        entry = json.loads(found)
        if entry["key"] != key or entry["files"] != [[str(p), _stamp(p)] for p in targets]:
            return None
        return Timeline.from_json(entry["timeline"])
    except (OSError, ValueError, KeyError, TypeError):  # a file gone; an entry not ours
        return None


def _remember_episode(
    cache: AudioCache, key: str, targets: Sequence[Path], timeline: Timeline
) -> None:
    """Note what the build just wrote at `targets` (see _unchanged_episode)."""
    entry = {
        "key": key,
        "files": [[str(p), _stamp(p)] for p in targets],
        "timeline": timeline.to_json(),
    }
    cache.put(BUILT, _where(targets[-1]), json.dumps(entry, ensure_ascii=False).encode())


def _kept_result(
    plan: EpisodePlan, timeline: Timeline, targets: Sequence[Path], seconds: float
) -> BuildResult:
    """The result of a build that found its episode up to date (_unchanged_episode)."""
    prepared = plan.prepared
    segments = prepared.script.segments
    return BuildResult(
        output=plan.output,
        title=prepared.essay.title,
        author=prepared.essay.author,
        timeline=timeline,
        segments=len(segments),
        reused_segments=len(segments),
        reused_chapters=len({spec.chapter for spec in plan.specs}),
        sidecars=tuple(targets[:-1]),
        words=sum(len(s.text.split()) for s in segments),
        stage_seconds={"parse": prepared.seconds},
        stage_cpu={"parse": prepared.cpu},
        seconds=prepared.seconds + seconds,
        up_to_date=True,
    )


def say(text: str, settings: Settings, out: Path) -> str:
    """Speak `text` as a build would (lexicon, normalization, voice) into `out`: a WAV
    file, or an MP3 when `out` ends in .mp3. Returns the text as spoken."""
    import wave

    from narrator.audio.mp3encode import encode_mp3
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
            with temp.open("wb") as file:  # the build's own encoder
                encode_mp3([pcm], SAMPLE_RATE, settings.audio, 0.0, file)
        else:
            with wave.open(str(temp), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(SAMPLE_RATE)
                wav.writeframes(pcm)
    return spoken
