"""Shared fixtures: a runner for the real `narrator` command."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


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
