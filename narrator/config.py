"""Settings: defaults < narrator.toml < the essay's front matter < command-line overrides.

The only translator from what a user wrote (a file, front matter, options) to what a build
uses; every default lives here or, for what depends on the engine, in the engine registry.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, cast

from narrator.cache import DEFAULT_MAX_MB
from narrator.errors import SettingsError
from narrator.model import AudioFormat, Pauses
from narrator.speech import registry
from narrator.text.lexicon import Lexicon, Reading
from narrator.text.normalize import DATE_ORDERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_NAME = "narrator.toml"
FORMATS = ("mp3", "m4b")  # the first is the default


@dataclass(frozen=True)
class Overrides:
    """What the command line sets for one build; None: not given."""

    title: str | None = None
    author: str | None = None
    engine: str | None = None
    voice: str | None = None
    rate: int | None = None
    jobs: int | None = None
    format: str | None = None
    # narrator feed's options
    category: str | None = None
    subcategory: str | None = None
    language: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    cluster: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything that shapes a build. See README.md, "Configuration", for each key."""

    title: str | None = None
    author: str | None = None
    engine: str = registry.DEFAULT_ENGINE.name  # see speech/registry.py for the others
    voice: str = registry.DEFAULT_ENGINE.default_voice  # else the engine's default voice
    rate: int = registry.DEFAULT_ENGINE.default_rate  # else the engine's default rate
    pitch: int = 50
    volume: float = 1.0
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    pauses: Pauses = field(default_factory=Pauses)
    audio: AudioFormat = field(default_factory=AudioFormat)
    output_dir: str = "audio"
    ffmpeg: str | None = None
    espeak_library: str | None = None
    espeak_data: str | None = None
    cache_dir: str | None = None
    cache_max_mb: int = DEFAULT_MAX_MB
    format: str = FORMATS[0]  # or "m4b": AAC in MP4 with chapters, for audiobook apps
    cover: str | None = None
    intro: str | None = None  # audio played, faded, before the first chapter's speech
    outro: str | None = None  # and after the last chapter's
    opening_line: bool = True
    lexicon: Lexicon = ()
    date_order: str = DATE_ORDERS[0]
    read_urls: bool = True
    language: str | None = None  # a language tag ("en-us"); else the voice's
    # the podcast, for `narrator feed` (narrator.toml in the episodes' folder)
    category: str | None = None  # one of Apple Podcasts' (publish/categories.py)
    subcategory: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    # a Dask scheduler (tcp://HOST:8786) whose workers speak the segments (the cluster extra)
    cluster: str | None = field(default_factory=lambda: os.environ.get("NARRATOR_CLUSTER") or None)

    @property
    def reading(self) -> Reading:
        return Reading(self.lexicon, self.date_order, self.read_urls)


_KINDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}
# key -> (lowest, highest) for the numeric checks
_RANGES: dict[str, tuple[float, float]] = {
    "rate": (80, 450),
    "pitch": (0, 100),
    "volume": (0.0, 2.0),
    "jobs": (1, 64),
    "sample_rate": (8000, 48000),
    "bitrate_kbps": (32, 320),
    "channels": (1, 2),
    "cache_max_mb": (1, 10_000_000),
    "loudness": (-36.0, -9.0),
}
# MP3 allows only these rates (others would be silently rounded); at low sample rates it
# allows only the low bitrates (_check_bitrate)
_CHOICES: dict[str, tuple[int | str, ...]] = {
    "sample_rate": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    "bitrate_kbps": (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    "date_order": DATE_ORDERS,
    "format": FORMATS,
}
# Settings that name programs or places: an essay's front matter may not set them
# cover, intro and outro too: an essay from someone else must not pull local files into
# an episode you publish
_LOCAL_ONLY = {
    "cover",
    "intro",
    "outro",
    "ffmpeg",
    "espeak_library",
    "espeak_data",
    "output_dir",
    "cache_dir",
    "cache_max_mb",
    "cluster",  # an essay must not send its text, or your build, to other machines
}
_TOP_KEYS = {f.name for f in fields(Settings)} - {"pauses", "audio", "lexicon"}


def _local_only(key: str, value: Any) -> bool:
    """Whether front matter may not set this: a local-only key, or a voice that names a
    Piper model file (an essay must not load files from your disk either)."""
    return key in _LOCAL_ONLY or (key == "voice" and str(value).lower().endswith(".onnx"))


_PAUSE_KEYS = {f.name for f in fields(Pauses)}
_AUDIO_KEYS = {f.name for f in fields(AudioFormat)}
_SECTIONS = {"pauses": _PAUSE_KEYS, "audio": _AUDIO_KEYS}


def find_config(essay: Path) -> Path | None:
    """narrator.toml beside the essay, else in the working directory."""
    for folder in (essay.resolve().parent, Path.cwd()):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def read_config(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}", "fix or remove the file") from exc


def _check(key: str, value: Any, where: str, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise SettingsError(
            f"{where}: {key} must be {_KINDS[expected]}, not {value!r}",
            "see Configuration in README.md",
        )
    choices = registry.names() if key == "engine" else _CHOICES.get(key)
    if choices and value not in choices:
        raise SettingsError(
            f"{where}: {key} = {value!r} is not allowed",
            f"use one of {', '.join(map(str, choices))}",
        )
    low_high: tuple[float, float] | None = _RANGES.get(key)
    if key.endswith("_ms"):
        low_high = (0, 60000)
    if low_high and expected is not bool and not low_high[0] <= cast(float, value) <= low_high[1]:
        raise SettingsError(
            f"{where}: {key} = {value} is out of range",
            f"use a value from {low_high[0]} to {low_high[1]}",
        )
    return value


def _check_bitrate(fmt: AudioFormat, where: str) -> None:
    """MP3 at a low sample rate allows only low bitrates (LAME would quietly use less)."""
    from narrator.audio.mp3frames import max_bitrate_kbps

    highest = max_bitrate_kbps(fmt.sample_rate)
    if fmt.bitrate_kbps > highest:
        raise SettingsError(
            f"{where}: bitrate_kbps = {fmt.bitrate_kbps} is more than MP3 allows at "
            f"sample_rate = {fmt.sample_rate}",
            f"use at most {highest} kbps at {fmt.sample_rate} Hz, or a higher sample_rate",
        )


def _types(cls: type) -> dict[str, type]:
    hints = {"str | None": str, "str": str, "int": int, "float": float, "float | None": float}
    hints["bool"] = bool
    return {f.name: hints.get(str(f.type), str) for f in fields(cls)}


def _apply(base: Settings, values: Mapping[str, Any], where: str, strict: bool) -> Settings:
    """Layer `values` over `base`. Strict layers (narrator.toml, flags) refuse unknown keys;
    front matter holds the author's other metadata too, so unknown keys there are ignored,
    and so are settings that name programs or folders (an essay should not choose those)."""
    top = _types(Settings)
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key == "lexicon":
            changes[key] = _lexicon(base.lexicon, value, where)
        elif key in _SECTIONS:
            if not isinstance(value, Mapping):
                raise SettingsError(f"{where}: {key} must be a table", "see README.md")
            section = base.pauses if key == "pauses" else base.audio
            known = _types(type(section))
            for sub, sub_value in value.items():
                if sub not in known:
                    if strict:
                        raise SettingsError(
                            f"{where}: unknown setting {key}.{sub}",
                            f"known: {', '.join(sorted(known))}",
                        )
                    continue
                section = replace(section, **{sub: _check(sub, sub_value, where, known[sub])})
            if isinstance(section, AudioFormat):
                _check_bitrate(section, where)
            changes[key] = section
        elif key in _TOP_KEYS and (strict or not _local_only(key, value)):
            if value is not None:
                changes[key] = _check(key, value, where, top[key])
        elif strict:
            raise SettingsError(
                f"{where}: unknown setting {key!r}",
                f"known: {', '.join(sorted(_TOP_KEYS | set(_SECTIONS) | {'lexicon'}))}",
            )
    return replace(base, **changes)


def _lexicon(base: Lexicon, table: Any, where: str) -> Lexicon:
    """`base` with the entries of a `[lexicon]` table (word = "respelling") laid over it."""
    if not isinstance(table, Mapping) or not all(
        isinstance(word, str) and word.strip() and isinstance(said, str)
        for word, said in table.items()
    ):
        raise SettingsError(
            f"{where}: lexicon must map words to respellings",
            'write it as a table of strings: [lexicon] then "Shue" = "Shoo"',
        )
    return tuple(sorted({**dict(base), **table}.items()))


def load_settings(
    essay: Path,
    front_matter: Mapping[str, Any],
    overrides: Overrides = Overrides(),
    config_file: Path | None = None,
) -> Settings:
    """Resolve the settings for one essay."""
    settings = Settings()
    path = config_file or find_config(essay)
    from_file = read_config(path) if path is not None else {}
    if path is not None:
        settings = _apply(settings, from_file, str(path), strict=True)
    settings = _apply(settings, front_matter, "front matter", strict=False)
    given = {key: value for key, value in asdict(overrides).items() if value is not None}
    settings = _apply(settings, given, "command line", strict=True)
    # an engine other than the default speaks with its own default voice and rate unless
    # a layer names them
    engine = registry.entry(settings.engine)
    named = {
        key: key in from_file
        or key in given
        or (key in front_matter and not _local_only(key, front_matter[key]))
        for key in ("voice", "rate")
    }
    if not named["voice"]:
        settings = replace(settings, voice=engine.default_voice)
    if not named["rate"]:
        settings = replace(settings, rate=engine.default_rate)
    return settings
