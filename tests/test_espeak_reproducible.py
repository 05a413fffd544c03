"""The same text gives the same bytes whichever espeak-ng library is installed.

Debian's espeak-ng 1.51 keeps more state between utterances than the bundled 1.52 (a
glottal-cycle count among it), which made builds differ from run to run. The bundled
library is the default even where a system one is installed; any other library speaks
each utterance in a process of its own. The reproducibility tests run against every
library present (scripts/test installs Debian's where it can).
"""

from __future__ import annotations

import ctypes.util
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from narrator.speech.espeak_library import SYSTEM, locate_espeak
from tests.helpers import SEED

LIBRARIES = ["bundled"] + ([SYSTEM] if ctypes.util.find_library("espeak-ng") else [])


def _library_env(library: str) -> dict[str, str]:
    return {} if library == "bundled" else {"NARRATOR_ESPEAK_LIBRARY": library}


def test_the_bundled_library_is_chosen_even_with_a_system_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NARRATOR_ESPEAK_LIBRARY", raising=False)
    assert locate_espeak().origin == "bundled"


@pytest.mark.skipif(SYSTEM not in LIBRARIES, reason="no system espeak-ng installed")
def test_system_asks_for_the_system_library() -> None:
    location = locate_espeak(SYSTEM)
    assert location.origin == "system"
    assert "espeak-ng" in location.library


@pytest.mark.parametrize("library", LIBRARIES)
def test_audio_does_not_depend_on_what_was_said_before(library: str, tmp_path: Path) -> None:
    # one engine per process: run each library's engine in a fresh interpreter
    code = textwrap.dedent(
        f"""
        import random
        from narrator.speech.engine import Prosody
        from narrator.speech.espeak import EspeakConfig, Pyttsx3Engine
        library = {library!r}
        engine = Pyttsx3Engine(EspeakConfig(
            "gmw/en-us", library=None if library == "bundled" else library))
        texts = ["Something else entirely, with more words in it.",
                 "The river runs quietly past the old mill.", "a.", "Hello."]
        first = {{t: engine.synthesize(t, Prosody(165, 50, 1.0)).pcm for t in texts}}
        rng = random.Random(1)
        for _ in range(12):
            engine.synthesize(rng.choice(texts + ["b", "Zebra crossing at 3 am!"]),
                              Prosody(rng.choice([120, 175]), rng.choice([50, 70]), 1.0))
            text = rng.choice(texts)
            assert engine.synthesize(text, Prosody(165, 50, 1.0)).pcm == first[text], text
        print("ok", engine.espeak_version)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok")


@pytest.mark.parametrize("library", LIBRARIES)
def test_doctor_says_which_library_and_that_it_is_reproducible(library: str, narrate) -> None:
    run = narrate("doctor", **_library_env(library))
    assert f"({'bundled' if library == 'bundled' else 'system'}) library" in run.stdout
    assert "ok   reproducible: the same text gives the same audio" in run.stdout


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _difference(a: Path, b: Path) -> str:
    """Where two builds differ, for the failure message: this test has failed a few times
    in full runs and never alone, so the next failure should say what differed."""
    x, y = a.read_bytes(), b.read_bytes()
    tag = 0
    if x[:3] == b"ID3":  # its size: four 7-bit bytes, then the 10-byte header
        tag = 10 + sum((v & 0x7F) << (7 * (3 - i)) for i, v in enumerate(x[6:10]))
    differ = (i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q)
    at = next(differ, min(len(x), len(y)))
    where = "in the ID3 tag" if at < tag else f"in the audio, {at - tag} bytes in"
    return f"{a.name} {len(x)} bytes, {b.name} {len(y)} bytes; first difference at {at}, {where}"


@pytest.mark.parametrize("library", LIBRARIES)
def test_builds_are_byte_identical_whatever_the_jobs_and_the_history(
    library: str, narrate, tmp_path: Path
) -> None:
    # the seed essay's lead and first chapter: enough text for 1.51's carried state to show
    lines = SEED.read_text(encoding="utf-8").splitlines()
    (tmp_path / "essay.txt").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    env = _library_env(library)
    builds = [tmp_path / f"out{n}.mp3" for n in range(3)]
    for out, jobs in zip(builds, ("2", "2", "1"), strict=True):
        run = narrate("build", "essay.txt", "-o", out.name, "--no-cache", "-j", jobs, **env)
        assert run.code == 0, run.stderr
    for other in builds[1:]:
        assert _digest(other) == _digest(builds[0]), _difference(builds[0], other)
    # a rebuild after an edit reuses cached clips spoken in another order: still the same
    # bytes as a clean build of the edited text
    run = narrate("build", "essay.txt", "-o", "cached.mp3", **env)
    assert run.code == 0, run.stderr
    edited = "\n".join([lines[0] + " One more sentence at the end.", *lines[1:4]]) + "\n"
    (tmp_path / "essay.txt").write_text(edited, encoding="utf-8")
    run = narrate("build", "essay.txt", "-o", "cached.mp3", **env)
    assert run.code == 0, run.stderr
    run = narrate("build", "essay.txt", "-o", "clean.mp3", "--no-cache", **env)
    assert run.code == 0, run.stderr
    assert _digest(tmp_path / "cached.mp3") == _digest(tmp_path / "clean.mp3"), _difference(
        tmp_path / "cached.mp3", tmp_path / "clean.mp3"
    )
