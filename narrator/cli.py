"""The `narrator` command: options -> settings -> pipeline -> rendered result.

Typed errors become one line on stderr and an exit code; nothing a user can cause prints
a traceback.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, Optional

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from narrator import __version__
from narrator.errors import InputError, Interrupted, NarratorError
from narrator.speech.registry import DEFAULT_ENGINE, entries

if TYPE_CHECKING:
    from narrator.cache import AudioCache
    from narrator.pipeline import Prepared


# Help that reads like other command-line tools': TEXT, INTEGER, PATH and [mp3|m4b] as
# placeholders, ESSAYS... for arguments. typer's own help shows Python types (`<str>`,
# `<int>`, `{essays}...`); the group class below gives every command's parameters a
# conventional metavar, from the click parameter type each one has.


def placeholder(kind: Any) -> str:
    """The metavar for a click parameter type: TEXT, INTEGER, PATH, [a|b] for choices."""
    choices = getattr(kind, "choices", None)
    if choices:
        return f"[{'|'.join(str(getattr(c, 'value', c)) for c in choices)}]"
    name = str(kind.name)
    return _NAMES.get(name, name.upper())


# typer's names for click's types, and their usual placeholders (a range is still a number)
_NAMES = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float range": "FLOAT"}


class _Argument(TyperArgument):
    """An argument shown in the usage line by its name alone, as ESSAYS... or [TEXT]."""

    def get_usage_pieces(self, ctx: object) -> list[str]:
        name = str(self.metavar)
        return [name if self.required else f"[{name}]"]


def _plain(param: Any) -> None:
    if isinstance(param, TyperArgument):
        param.__class__ = _Argument
        param.metavar = str(param.name).upper() + ("..." if param.nargs != 1 else "")
    elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
        param.metavar = placeholder(param.type)


class PlainHelpGroup(TyperGroup):
    """A typer group whose commands' help uses conventional placeholders."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            for param in command.params:
                _plain(param)


EXIT_INTERRUPTED = 130

# Help as command-line tools print it: -h too, placeholders such as TEXT, INTEGER and
# PATH, and paragraphs wrapped to the terminal (typer's rich panels showed <list[Path]>
# and kept the docstrings' own line breaks)
HELP_SETTINGS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=HELP_SETTINGS,
    cls=PlainHelpGroup,
    help="Turn a written essay into a chaptered, tagged podcast episode, offline.",
)


def _say_error(text: str) -> None:
    print(f"narrator: {text}", file=sys.stderr)


@contextmanager
def _errors_to_exit_codes() -> Iterator[None]:
    """Map typed errors to one line and an exit code; Ctrl-C to 130."""
    try:
        yield
    except NarratorError as exc:
        _say_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except Interrupted as exc:  # a build, saying which episode the folder holds
        _say_error(str(exc))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        _say_error("interrupted; nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("NARRATOR_DEBUG"):
            raise
        _say_error(_internal_error(exc))
        raise typer.Exit(1) from None


def _internal_error(exc: Exception) -> str:
    return (
        f"internal error: {type(exc).__name__}: {exc} "
        "(rerun with NARRATOR_DEBUG=1 for the traceback and please report it)"
    )


def _version(value: bool) -> None:
    if value:
        print(f"narrator {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "-v",
            "--verbose",
            help="Log what a maintainer needs to see: every ffmpeg command line, cache hits"
            " and misses, the engine library.",
        ),
    ] = False,
) -> None:
    """Turn a written essay into a chaptered, tagged podcast episode, offline."""
    if verbose:  # narrator's own loggers only, not its libraries'
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("narrator: %(name)s: %(message)s"))
        logging.getLogger("narrator").addHandler(handler)
        logging.getLogger("narrator").setLevel(logging.DEBUG)


EssayArg = Annotated[Path, typer.Argument(help="The essay: Markdown (.md) or plain text.")]
TitleOpt = Annotated[Optional[str], typer.Option("--title", help="Episode title.")]  # noqa: UP045
AuthorOpt = Annotated[Optional[str], typer.Option("--author", help="Author name.")]  # noqa: UP045
ConfigOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--config", help="Settings file (default: narrator.toml beside the essay)."),
]


OutputOpt = Annotated[  # a string, as typed: "-o new/" names a folder (a Path drops the "/")
    Optional[str],  # noqa: UP045
    typer.Option(
        "-o",
        "--output",
        metavar="PATH",
        help="Output MP3 file or folder (default: audio/NAME.mp3).",
    ),
]
VoiceOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--voice", help="Voice id, or a Piper .onnx model path (see `narrator voices`)."),
]
RateOpt = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--rate",
        help=f"Speaking rate (default {DEFAULT_ENGINE.default_rate}: about 160 spoken words a"
        " minute with espeak-ng).",
    ),
]
EngineOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--engine",
        help="Speech engine: "
        + "; ".join(f"{e.name}: {e.summary}" for e in entries())
        + f" (default {DEFAULT_ENGINE.name}).",
    ),
]
FormatOpt = Annotated[  # config.py checks it too, for narrator.toml and front matter
    Optional[Literal["mp3", "m4b"]],  # noqa: UP045
    typer.Option("--format", help="mp3 (default) or m4b (AAC with chapters, audiobooks)."),
]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="No progress or summary.")]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Neither reuse nor store cached audio.")
]
ClusterOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--cluster",
        help="Speak on a Dask cluster's workers: its scheduler, tcp://HOST:8786 (default:"
        " the cluster setting or $NARRATOR_CLUSTER; needs the cluster extra).",
    ),
]
JobsOpt = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option("-j", "--jobs", help="Worker processes (default: the CPU count)."),
]


@app.command()
def build(
    essays: Annotated[
        list[Path], typer.Argument(help="Essays (Markdown or plain text), or folders of them.")
    ],
    output: OutputOpt = None,
    title: TitleOpt = None,
    author: AuthorOpt = None,
    voice: VoiceOpt = None,
    engine: EngineOpt = None,
    rate: RateOpt = None,
    jobs: JobsOpt = None,
    cluster: ClusterOpt = None,
    quiet: QuietOpt = False,
    no_cache: NoCacheOpt = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Only list, per chapter, what would be synthesized."),
    ] = False,
    audio_format: FormatOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Build each essay into a chaptered, tagged MP3, reusing audio from earlier builds.

    Several essays (or a folder) are built into the output folder one after another,
    sharing one pool of speech workers; every essay is read and checked before any audio
    is made."""
    from narrator.config import Overrides
    from narrator.pipeline import BuildRequest, build_all
    from narrator.report import BuildReporter

    overrides = Overrides(
        title=title,
        author=author,
        engine=engine,
        voice=voice,
        rate=rate,
        jobs=jobs,
        format=audio_format,
        cluster=cluster,
    )
    request = BuildRequest(tuple(essays), output, overrides, config, not no_cache, dry_run)
    with _errors_to_exit_codes():
        build_all(request, BuildReporter(quiet))


class ScriptFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def script(
    essay: EssayArg,
    fmt: Annotated[
        ScriptFormat, typer.Option("--format", "-f", help="text (readable) or json.")
    ] = ScriptFormat.text,
    title: TitleOpt = None,
    author: AuthorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print the spoken script of ESSAY: chapters, segments, pauses and emphasis."""
    from narrator.config import Overrides
    from narrator.pipeline import prepare
    from narrator.text.markup import script_to_json, script_to_text

    with _errors_to_exit_codes():
        prepared = prepare(essay, Overrides(title=title, author=author), config)
        for warning in prepared.warnings:
            _say_error(f"warning: {essay.name} {warning}")
        if fmt is ScriptFormat.json:
            print(json.dumps(script_to_json(prepared.script), ensure_ascii=False, indent=2))
        else:
            print(script_to_text(prepared.script))


@app.command()
def voices(
    language: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--language", "-l", help="Only voices whose language starts with this."),
    ] = None,
) -> None:
    """List the voices of both engines: espeak-ng's and the installed Piper voices."""
    from narrator.report import render_voices
    from narrator.speech.registry import all_voices

    with _errors_to_exit_codes():
        found = all_voices()
        if language:
            found = [v for v in found if any(lang.startswith(language) for lang in v.languages)]
            if not found:
                raise InputError(
                    f"no voice speaks a language starting with {language!r}",
                    "run narrator voices to list every voice and its language",
                )
        render_voices(found)


@app.command()
def doctor() -> None:
    """Check espeak-ng, pyttsx3, ffmpeg and the optional Piper engine: versions, test phrases."""
    from narrator.doctor import run_checks
    from narrator.report import render_checks

    with _errors_to_exit_codes():
        checks = run_checks()
        render_checks(checks)
        if not all(check.ok for check in checks):
            raise typer.Exit(3)


LocalConfigOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--config", help="Settings file (default: narrator.toml in this folder)."),
]


@app.command()
def say(
    text: Annotated[str, typer.Argument(help="A word or sentence to hear.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write it: .wav or .mp3.")
    ] = Path("say.wav"),
    voice: VoiceOpt = None,
    engine: EngineOpt = None,
    rate: RateOpt = None,
    config: LocalConfigOpt = None,
) -> None:
    """Speak TEXT to a short audio file, as a build would, to audition a pronunciation."""
    from narrator import pipeline
    from narrator.config import Overrides, load_settings

    with _errors_to_exit_codes():
        overrides = Overrides(voice=voice, engine=engine, rate=rate)
        settings = load_settings(Path.cwd() / "say", {}, overrides, config)
        spoken = pipeline.say(text, settings, output)
        print(f"said “{spoken}” into {output}")


@app.command()
def watch(
    essay: EssayArg,
    output: OutputOpt = None,
    title: TitleOpt = None,
    author: AuthorOpt = None,
    voice: VoiceOpt = None,
    engine: EngineOpt = None,
    rate: RateOpt = None,
    jobs: JobsOpt = None,
    quiet: QuietOpt = False,
    no_cache: NoCacheOpt = False,
    audio_format: FormatOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Build ESSAY, then rebuild it whenever it or its narrator.toml is saved (Ctrl-C stops).

    Takes build's options (but one essay, and no --dry-run)."""
    from narrator import pipeline
    from narrator.config import Overrides, find_config
    from narrator.watch import changed_chapters
    from narrator.watch import watch as watch_files

    overrides = Overrides(
        title=title,
        author=author,
        engine=engine,
        voice=voice,
        rate=rate,
        jobs=jobs,
        format=audio_format,
    )
    previous: Prepared | None = None

    def files() -> list[Path]:
        found = config or find_config(essay)
        return [essay] if found is None else [essay, found]

    def rebuild(changed: list[str]) -> None:
        nonlocal previous
        if changed:
            print(f"changed: {', '.join(changed)}", flush=True)
        try:
            prepared = pipeline.prepare(essay, overrides, config, use_cache=not no_cache)
            if previous is not None:
                chapters = changed_chapters(previous.script, prepared.script)
                print(
                    f"chapters changed: {', '.join(chapters) or 'none (same script)'}", flush=True
                )
            previous = prepared
            target = pipeline.output_path(essay, output, prepared.settings)
            plan = pipeline.plan_episode(prepared, target, use_cache=not no_cache)
            result = pipeline.build(plan, use_cache=not no_cache)
        except NarratorError as exc:
            _say_error(f"{exc} (still watching)")
            return
        if quiet:
            return
        print(
            f"built {result.output} in {result.seconds:.1f} s: reused {result.reused_segments}"
            f" of {result.segments} segments; watching {essay} (Ctrl-C stops)",
            flush=True,
        )

    with _errors_to_exit_codes():
        try:
            watch_files(files, rebuild, failed=lambda exc: _say_error(_watch_error(exc)))
        except KeyboardInterrupt:
            print("stopped watching", flush=True)


def _watch_error(exc: Exception) -> str:
    if os.environ.get("NARRATOR_DEBUG"):
        traceback.print_exception(exc)
    return f"{_internal_error(exc)} (still watching)"


@app.command()
def feed(
    folder: Annotated[Path, typer.Argument(help="The folder of built episodes (MP3s).")],
    base_url: Annotated[
        str,
        typer.Option(
            "--base-url", help="Where FOLDER is published, e.g. https://example.com/podcast."
        ),
    ],
    title: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--title", help="Podcast title (default: the folder's name)."),
    ] = None,
    author: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--author", help="Podcast author (default: the first episode's)."),
    ] = None,
    category: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--category", help="Apple Podcasts category (default: Arts)."),
    ] = None,
    subcategory: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--subcategory", help="Apple Podcasts subcategory (default: Books)."),
    ] = None,
    owner_name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--owner-name", help="The show owner's name, for directories."),
    ] = None,
    owner_email: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--owner-email", help="The show owner's e-mail, for directories."),
    ] = None,
    language: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--language", help="Language tag, e.g. en-us (default: the episodes')."),
    ] = None,
    config: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--config", help="Settings file (default: narrator.toml in FOLDER)."),
    ] = None,
) -> None:
    """Write FOLDER/feed.xml: a podcast feed of the episodes in FOLDER, for --base-url.

    category, subcategory, owner_name, owner_email and language may also be set in
    narrator.toml in FOLDER."""
    from narrator.config import Overrides, load_settings
    from narrator.publish.feed import FEED, Show, write_feed

    with _errors_to_exit_codes():
        overrides = Overrides(
            category=category,
            subcategory=subcategory,
            language=language,
            owner_name=owner_name,
            owner_email=owner_email,
        )
        settings = load_settings(folder / FEED, {}, overrides, config)
        show = Show(
            title=title,
            author=author,
            language=settings.language,
            category=settings.category,
            subcategory=settings.subcategory,
            owner_name=settings.owner_name,
            owner_email=settings.owner_email,
        )
        result = write_feed(folder, base_url, show)
        for reason in result.skipped:
            _say_error(f"warning: {reason}; left out of the feed")
        for warning in result.warnings:
            _say_error(f"warning: {warning}")
        if result.cover_extracted:
            print(f"saved an episode's cover art as {result.cover_extracted}")
        count = len(result.episodes)
        print(f"wrote {result.path} with {count} episode{'s' * (count != 1)}")


@app.command()
def serve(
    folder: Annotated[Path, typer.Argument(help="The folder to serve: episodes and feed.xml.")],
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on; 0.0.0.0 lets phones on the network in."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free one).")
    ] = 8000,
) -> None:
    """Serve FOLDER read-only over HTTP, for a podcast app to subscribe to (Ctrl-C stops)."""
    from narrator.publish.serve import make_server, qr_code, serve_forever, server_url

    with _errors_to_exit_codes():
        server = make_server(folder, host, port)
        url = server_url(server)
        if (folder / "feed.xml").is_file():
            print(f"serving {folder}: podcast apps subscribe to {url}/feed.xml")
        else:  # no feed to advertise yet
            print(f"serving {folder}; no feed.xml yet, so nothing for podcast apps")
            print(f"write it with: narrator feed {folder} --base-url {url}")
        print(f"listen in a browser at {url}/")
        # a phone's camera opens what it scans in the browser: the listening page, which
        # shows the feed's address for podcast apps
        print(qr_code(f"{url}/") or "", end="")
        if host.startswith("127.") or host == "localhost":
            print("only this computer can connect; --host 0.0.0.0 lets phones in")
        print("Ctrl-C stops", flush=True)
        serve_forever(server)
        print("stopped serving")


@app.command()
def lint(
    paths: Annotated[list[Path], typer.Argument(help="Episodes (MP3 or m4b), or folders of them.")],
    config: LocalConfigOpt = None,
) -> None:
    """Check episodes for phones and podcast apps: tags, chapters, cover, loudness.

    Exits 1 if any file fails a check. Loudness is checked against the `[audio] loudness`
    setting of the narrator.toml in this folder (or --config), else the podcast norm."""
    from narrator.config import load_settings
    from narrator.ffmpeg import find_ffmpeg
    from narrator.lint import episodes_to_lint
    from narrator.lint import lint as lint_file
    from narrator.report import progress_reporter, render_checks

    with _errors_to_exit_codes():
        settings = load_settings(Path.cwd() / "episode", {}, config_file=config)
        files = episodes_to_lint(paths)
        ffmpeg = find_ffmpeg(settings.ffmpeg)
        failures = 0
        for number, path in enumerate(files):
            if number:
                print()
            with progress_reporter(enabled=True) as progress:
                checks = lint_file(path, ffmpeg, progress, settings.audio.loudness)
            render_checks(checks)
            failed = [check.name for check in checks if not check.ok]
            failures += bool(failed)
            verdict = f"FAILED ({', '.join(failed)})" if failed else "all checks passed"
            print(f"{path}: {verdict}")
        if len(files) > 1:
            print(f"{len(files) - failures} of {len(files)} files passed")
        if failures:
            raise typer.Exit(1)


cache_app = typer.Typer(
    help="Inspect or empty the audio cache.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=HELP_SETTINGS,
    cls=PlainHelpGroup,
)
app.add_typer(cache_app, name="cache")


def _cache(config: Path | None) -> AudioCache:
    """The cache that builds from the working directory would use."""
    from narrator.config import load_settings
    from narrator.pipeline import open_cache

    return open_cache(load_settings(Path.cwd() / "essay", {}, config_file=config))


@cache_app.command("info")
def cache_info(config: LocalConfigOpt = None) -> None:
    """Show where the cache is, how many entries it holds and how big it is."""
    from narrator.report import render_cache_info

    with _errors_to_exit_codes():
        render_cache_info(_cache(config).info())


@cache_app.command("clear")
def cache_clear(config: LocalConfigOpt = None) -> None:
    """Delete every cached clip and chapter (the next build synthesizes everything)."""
    with _errors_to_exit_codes():
        cache = _cache(config)
        print(f"removed {cache.clear()} entries from {cache.root}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops narrator as Ctrl-C does, cleaning up


def main() -> None:
    """Entry point of the `narrator` console script."""
    signal.signal(signal.SIGTERM, _interrupt)
    # A build makes hundreds of thousands of small objects (the script, its keys and
    # memos), few of them in cycles: at the default threshold the cycle collector ran
    # about 125 times in an edit rebuild of emerson-nature.md, 70-80 ms of its 1.3 s.
    # Rarer collections (as mypy does) leave refcounting to free almost everything.
    gc.set_threshold(100_000, 50, 100)
    try:
        app()
    except KeyboardInterrupt:  # while the command line was still being set up
        _say_error("interrupted; nothing was written")
        _leave_interrupted()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            _leave_interrupted()
        raise


def run() -> NoReturn:
    """The `narrator` command: `main`, then exit without the interpreter's teardown.

    Once the command is done and the exit handlers have run, Python would still free the
    build's hundreds of thousands of objects one by one and unload every module: 0.15 to
    0.25 s after an edit rebuild of emerson-nature.md had written everything, a sixth of
    its time. Nothing is left to do by then: every file is written, renamed and closed by
    the build's own context managers."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message"): Python prints it and exits with 1
            print(exc.code, file=sys.stderr)
            code = 1
    _leave(code)


def _leave(code: int) -> NoReturn:
    """Exit with `code` as Python would, up to its teardown: wait for the threads that
    are not daemons, run the exit handlers (multiprocessing's, logging's, temporary
    folders'), flush the output, then leave."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    with suppress(OSError, ValueError):  # a closed pipe: nothing to flush into
        sys.stdout.flush()
    with suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _leave_interrupted() -> NoReturn:
    """Exit with 130 now, the interrupt handled and the build cleaned up.

    An interrupt that lands while Python runs exec() on a string (dataclasses and named
    tuples are made so when a module is first imported, and a build imports some lazily)
    leaves CPython believing it went unhandled even after it was handled; `python -m
    narrator` then ended by SIGINT (status -2) instead of 130, about one interrupt in
    fifteen in a test that sends SIGTERM at random moments."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)
