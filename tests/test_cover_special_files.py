"""A cover setting that names something other than a regular image file says what it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from narrator.audio.cover import user_cover
from narrator.errors import InputError


def test_a_device_is_not_said_not_to_exist() -> None:
    with pytest.raises(InputError) as caught:
        user_cover(Path("/dev/zero"))
    assert "is not a regular file" in str(caught.value)
    assert "does not exist" not in str(caught.value)


def test_a_pipe_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "cover.png"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(InputError, match="is not a regular file"):
        user_cover(fifo)


def test_a_missing_file_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        user_cover(tmp_path / "nope.png")
    with pytest.raises(InputError, match="is a directory"):
        user_cover(tmp_path)
