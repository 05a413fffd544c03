"""The `narrator` command: options -> settings -> pipeline -> rendered result.

Typed errors become one line on stderr and an exit code; nothing a user can cause prints
a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from narrator import __version__
from narrator.errors import NarratorError
from narrator.speech.registry import DEFAULT_ENGINE, entries

if TYPE_CHECKING:
    from narrator.cache import AudioCache
    from narrator.pipeline import Prepared

EXIT_INTERRUPTED = 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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
    except KeyboardInterrupt:
        _say_error("interrupted; nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("NARRATOR_DEBUG"):
            raise
        _say_error(
            f"internal error: {type(exc).__name__}: {exc} "
            "(rerun with NARRATOR_DEBUG=1 for the traceback and please report it)"
        )
        raise typer.Exit(1) from None


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


OutputOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("-o", "--output", help="Output MP3 file or folder (default: audio/NAME.mp3)."),
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
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress or summary.")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither reuse nor store cached audio.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Only list, per chapter, what would be synthesized."),
    ] = False,
    audio_format: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--format", help="mp3 (default) or m4b (AAC with chapters, audiobooks)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Build each essay into a chaptered, tagged MP3, reusing audio from earlier builds.

    Several essays (or a folder) are built into the output folder one after another,
    sharing one pool of speech workers; every essay is read and checked before any audio
    is made."""
    from narrator.config import Overrides
    from narrator.pipeline import BuildRequest, build_all
    from narrator.report import BuildReporter

    overrides = Overrides(title, author, engine, voice, rate, jobs, audio_format)
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
    config: ConfigOpt = None,
) -> None:
    """Build ESSAY, then rebuild it whenever it or its narrator.toml is saved (Ctrl-C stops)."""
    from narrator import pipeline
    from narrator.config import Overrides, find_config
    from narrator.watch import changed_chapters
    from narrator.watch import watch as watch_files

    overrides = Overrides(title, author, engine, voice, rate, jobs)
    previous: Prepared | None = None

    def files() -> list[Path]:
        found = config or find_config(essay)
        return [essay] if found is None else [essay, found]

    def rebuild(changed: list[str]) -> None:
        nonlocal previous
        if changed:
            print(f"changed: {', '.join(changed)}", flush=True)
        try:
            prepared = pipeline.prepare(essay, overrides, config)
            if previous is not None:
                chapters = changed_chapters(previous.script, prepared.script)
                print(
                    f"chapters changed: {', '.join(chapters) or 'none (same script)'}", flush=True
                )
            previous = prepared
            target = pipeline.output_path(essay, output, prepared.settings)
            result = pipeline.build(pipeline.plan_episode(prepared, target))
        except NarratorError as exc:
            _say_error(f"{exc} (still watching)")
            return
        print(
            f"built {result.output} in {result.seconds:.1f} s: reused {result.reused_segments}"
            f" of {result.segments} segments; watching {essay} (Ctrl-C stops)",
            flush=True,
        )

    with _errors_to_exit_codes():
        try:
            watch_files(files, rebuild)
        except KeyboardInterrupt:
            print("stopped watching", flush=True)


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
) -> None:
    """Write FOLDER/feed.xml: a podcast feed of the episodes in FOLDER, for --base-url."""
    from narrator.publish.feed import write_feed

    with _errors_to_exit_codes():
        result = write_feed(folder, base_url, title, author)
        for reason in result.skipped:
            _say_error(f"warning: {reason}; left out of the feed")
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
        print(f"serving {folder} at {url}/feed.xml")
        print(f"listen in a browser at {url}/")
        # a phone's camera opens what it scans in the browser: the listening page, which
        # links the feed for podcast apps
        print(qr_code(f"{url}/") or "", end="")
        if not (folder / "feed.xml").is_file():
            print(f"no feed.xml yet; write it with: narrator feed {folder} --base-url {url}")
        if host.startswith("127.") or host == "localhost":
            print("only this computer can connect; --host 0.0.0.0 lets phones in")
        print("Ctrl-C stops", flush=True)
        serve_forever(server)
        print("stopped serving")


@app.command()
def lint(
    mp3: Annotated[Path, typer.Argument(help="The episode to check.")],
) -> None:
    """Check FILE.mp3 for phones and podcast apps: tags, chapters, cover, loudness."""
    from narrator.ffmpeg import find_ffmpeg
    from narrator.lint import lint as lint_file
    from narrator.report import render_checks

    with _errors_to_exit_codes():
        checks = lint_file(mp3, find_ffmpeg())
        render_checks(checks)
        failed = [check.name for check in checks if not check.ok]
        print(f"{mp3}: " + (f"FAILED ({', '.join(failed)})" if failed else "all checks passed"))
        if failed:
            raise typer.Exit(1)


cache_app = typer.Typer(help="Inspect or empty the audio cache.", no_args_is_help=True)
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


def main() -> None:
    """Entry point of the `narrator` console script."""
    app()
