"""Find and load the espeak-ng library and data that pyttsx3 will drive.

pyttsx3's espeak driver loads `libespeak-ng.so.1` by name. To use the copy shipped in the
`espeakng-loader` wheel we preload it with `ctypes.CDLL` before pyttsx3 imports its driver:
the dynamic loader then resolves pyttsx3's request to the same object (matching SONAME).
espeak-ng calls `exit(1)` inside `espeak_Initialize` when its data folder is missing, which
kills the process with no Python exception, so the data folder is checked first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from pathlib import Path

from narrator.errors import DependencyError

LIBRARY_ENV = "NARRATOR_ESPEAK_LIBRARY"
DATA_ENV = "ESPEAK_DATA_PATH"
SYSTEM = "system"  # the espeak_library value that asks for the system's library


@dataclass(frozen=True)
class EspeakLocation:
    """Where the espeak-ng library and its data come from.

    `data` is None for a system library, which knows its own compiled-in data folder.
    """

    library: str
    data: str | None
    origin: str  # "configured", "system" or "bundled"


def locate_espeak(library: str | None = None, data: str | None = None) -> EspeakLocation:
    """Choose the library: a configured one (`"system"` for the system's), else the
    bundled wheel's, else the system's.

    The bundled library comes first even where a system espeak-ng is installed (desktop
    speech services pull Debian's in): its version comes with narrator's, so an essay
    sounds the same, byte for byte, on every machine, and it is the library whose carried
    state the engine undoes in-process (see espeak.py). Any other library is spoken one
    utterance per process, which is reproducible too but slower.
    """
    data = data or os.environ.get(DATA_ENV) or None
    library = library or os.environ.get(LIBRARY_ENV) or None
    if library == SYSTEM:
        system = ctypes.util.find_library("espeak-ng")
        if not system:
            raise DependencyError(
                "no system espeak-ng library found",
                f"install espeak-ng, or unset the espeak_library setting and {LIBRARY_ENV}",
            )
        return EspeakLocation(system, data, "system")
    if library:
        if not Path(library).is_file():
            raise DependencyError(
                f"the espeak-ng library {library} does not exist",
                f"fix the espeak_library setting or unset {LIBRARY_ENV}",
            )
        return EspeakLocation(library, data, "configured")
    try:
        import espeakng_loader
    except ImportError as exc:
        system = ctypes.util.find_library("espeak-ng")
        if system:
            return EspeakLocation(system, data, "system")
        raise DependencyError(
            "no espeak-ng library found (neither the espeakng-loader package nor system-wide)",
            "run ./scripts/narrate again to reinstall, or install espeak-ng",
        ) from exc
    return EspeakLocation(
        espeakng_loader.get_library_path(), data or espeakng_loader.get_data_path(), "bundled"
    )


def load_espeak(location: EspeakLocation) -> ctypes.CDLL:
    """Load the library into this process so pyttsx3 finds it; call before importing pyttsx3."""
    if location.data is not None:
        if not (Path(location.data) / "phontab").is_file():
            raise DependencyError(
                f"espeak-ng data folder {location.data} is missing or incomplete (no phontab)",
                f"point {DATA_ENV} or the espeak_data setting at an espeak-ng-data folder",
            )
        os.environ[DATA_ENV] = location.data
    try:
        return ctypes.CDLL(location.library, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        raise DependencyError(
            f"cannot load the espeak-ng library {location.library}: {exc}",
            "reinstall espeak-ng or unset NARRATOR_ESPEAK_LIBRARY",
        ) from exc


STEADY_VARIANT = "narrator"
_SYSTEM_DATA_DIRS = (
    "/usr/lib/x86_64-linux-gnu/espeak-ng-data",
    "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
    "/usr/share/espeak-ng-data",
    "/usr/lib/espeak-ng-data",
    "/usr/local/share/espeak-ng-data",
    "/opt/homebrew/share/espeak-ng-data",
)


def system_data_dir() -> str | None:
    """The compiled-in data folder of a system espeak-ng, found among the usual places."""
    return next((d for d in _SYSTEM_DATA_DIRS if (Path(d) / "phontab").is_file()), None)


def steady_voice(voice: str) -> str:
    """The voice name with narrator's flutter-free variant (see `make_steady_overlay`)."""
    base, _, variant = voice.partition("+")
    return f"{base}+{STEADY_VARIANT}{'-' + variant if variant else ''}"


def make_steady_overlay(data: Path, voice: str, into: Path) -> Path:
    """Build a data folder that mirrors `data` (by symlinks) plus one voice variant that
    turns pitch flutter off, and return it.

    espeak-ng adds "flutter" to the pitch from a table indexed by a static counter that
    runs on from one utterance to the next and is never reset, so the same sentence
    sounds (and measures) a little different depending on what the process said before.
    With flutter at 0 each utterance depends only on its own text and settings, which is
    what makes builds byte-identical and lets audio be reused. If the voice already names
    a variant, that variant's settings are kept and flutter turned off on top of them.
    """
    overlay = into / "espeak-ng-data"
    overlay.mkdir(parents=True)
    for entry in data.iterdir():
        if entry.name != "voices":
            (overlay / entry.name).symlink_to(entry)
    variants = overlay / "voices" / "!v"
    variants.mkdir(parents=True)
    for entry in (data / "voices").iterdir():
        if entry.name != "!v":
            (overlay / "voices" / entry.name).symlink_to(entry)
    # only the steady variant is ever asked for: the stock ones (104, a symlink each, a
    # quarter of a speech worker's start) are not mirrored
    stock = data / "voices" / "!v"
    base_variant = voice.partition("+")[2]
    lines = ["language variant", f"name {STEADY_VARIANT}"]
    if base_variant and (stock / base_variant).is_file():
        lines = (stock / base_variant).read_text(encoding="utf-8", errors="replace").splitlines()
    name = steady_voice(voice).partition("+")[2]
    (variants / name).write_text("\n".join([*lines, "flutter 0", ""]), encoding="utf-8")
    return overlay


def library_version(location: EspeakLocation) -> str:
    """espeak-ng's version, read without initialising it (safe before spawning workers)."""
    try:
        library = ctypes.CDLL(location.library)
    except OSError as exc:
        raise DependencyError(
            f"cannot load the espeak-ng library {location.library}: {exc}",
            "reinstall espeak-ng or unset NARRATOR_ESPEAK_LIBRARY",
        ) from exc
    return espeak_version(library)[0]


def espeak_version(library: ctypes.CDLL) -> tuple[str, str]:
    """Return espeak-ng's version and the data folder it uses (from `espeak_Info`)."""
    info = library.espeak_Info
    info.restype = ctypes.c_char_p
    info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    path = ctypes.c_char_p()
    version = info(ctypes.byref(path)) or b"unknown"
    return version.decode(), (path.value or b"").decode()
