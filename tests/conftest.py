"""Shared fixtures: a runner for the real `narrator` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import ROOMS, SEED, build

from narrator.speech import registry
from narrator.speech.engine import EngineConfig, Prosody
from narrator.speech.pool import Voice


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Never touch the user's cache: the whole run shares one in a temporary folder."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NARRATOR_CACHE_DIR", str(root))
        yield root


@pytest.fixture
def fresh_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache for one test (through the real setting)."""
    root = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("NARRATOR_CACHE_DIR", str(root))
    return root


@pytest.fixture
def fake_engine() -> Iterator[Voice]:
    """The test engine (tests/fake_engine.py), registered through the engine registry as
    an extension would be; yields a voice that speaks with it."""
    import fake_engine as fake

    registry.register(fake.ENTRY)
    try:
        yield Voice(EngineConfig(fake.ENTRY.default_voice, fake.NAME), Prosody(155, 50, 1.0))
    finally:
        registry.unregister(fake.NAME)


@pytest.fixture
def narrate(tmp_path: Path):
    """Run the real `narrator` command in a fresh working directory."""

    def run(*args: str | Path, timeout: float = 300, **extra_env: str) -> Run:
        env = {**os.environ, "COLUMNS": "200", **extra_env}
        env.pop("NARRATOR_DEBUG", None)
        proc = subprocess.run(
            [sys.executable, "-m", "narrator", *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def seed_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed essay built once per run with the real engine (tests read it, never write)."""
    out = tmp_path_factory.mktemp("seed") / "seed.mp3"
    build(out, SEED)
    return out


@pytest.fixture
def essay(tmp_path: Path) -> Path:
    """A short essay of three chapters (helpers.ROOMS) in a fresh folder."""
    path = tmp_path / "rooms.md"
    path.write_text(ROOMS, encoding="utf-8")
    return path
