"""Typed errors: what failed and what to do, each kind with its exit code.

Library code raises these; only the CLI turns them into one line and an exit code.
"""

from __future__ import annotations


class NarratorError(Exception):
    """Base of every error a user can cause or fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self) -> tuple[type[NarratorError], tuple[str, str]]:
        # keep the hint when the error crosses from a worker process to the parent
        return (type(self), (self.message, self.hint))

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class InputError(NarratorError):
    """The essay cannot be read or parsed (missing, empty, binary, no prose...)."""


class SettingsError(NarratorError):
    """A setting in narrator.toml, front matter or on the command line is invalid."""


class OutputError(NarratorError):
    """The output cannot be written where asked."""


class DependencyError(NarratorError):
    """espeak-ng, pyttsx3 or ffmpeg is missing or failed."""

    exit_code = 3


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a build, saying what the output folder now holds: the
    complete previous episode or the complete new one. The CLI prints the message."""
