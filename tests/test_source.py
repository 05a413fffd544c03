"""read_source: the checks on an essay file, its cleaning, and the Markdown decision."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from narrator.errors import InputError
from narrator.text.source import read_source

# The first bytes of a real PNG: signature, then the IHDR chunk of a 1x1 image.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_reads_utf8_text_and_hashes_the_raw_bytes(tmp_path: Path) -> None:
    raw = "Caf\u00e9 \u201cquoted\u201d prose.\n".encode()
    source = read_source(write(tmp_path, "essay.txt", raw))
    assert source.text == "Caf\u00e9 \u201cquoted\u201d prose.\n"
    assert source.sha256 == hashlib.sha256(raw).hexdigest()
    assert source.path == tmp_path / "essay.txt"
    assert source.markdown is False


def test_bom_and_crlf_and_lone_cr_become_plain_lf(tmp_path: Path) -> None:
    lf = read_source(write(tmp_path, "lf.txt", b"Title\n\nOne.\nTwo.\n"))
    crlf = read_source(write(tmp_path, "crlf.txt", b"\xef\xbb\xbfTitle\r\n\r\nOne.\r\nTwo.\r\n"))
    cr = read_source(write(tmp_path, "cr.txt", b"Title\r\rOne.\rTwo.\r"))
    assert crlf.text == lf.text == cr.text == "Title\n\nOne.\nTwo.\n"
    assert crlf.sha256 != lf.sha256  # the hash is of the file as it is on disk


def test_never_modifies_the_file(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbf# Title\r\n\r\nText.\r\n"
    path = write(tmp_path, "essay.md", raw)
    read_source(path)
    assert path.read_bytes() == raw


@pytest.mark.parametrize(
    ("name", "text", "markdown"),
    [
        ("a.md", "no markup at all", True),
        ("a.MARKDOWN", "no markup at all", True),
        ("a.mdown", "plain", True),
        ("a.mkd", "plain", True),
        ("a.mdx", "plain", True),
        ("a.txt", "# Looks like Markdown\n\nwith *emphasis*", False),
        ("a.text", "# Looks like Markdown", False),
        ("essay", "---\ntitle: T\n---\nText.", True),
        ("essay", "Intro.\n\n## Section\n\nText.", True),
        ("essay.rst", "Title\n=====\n\nText.", True),
        ("essay", "Some *emphasis* here.", True),
        ("essay", "Some _emphasis_ here.", True),
        ("essay", "A [link](https://example.com) here.", True),
        ("essay", "Plain prose, 2*3*4 = 24, snake_case_name and #hashtag.", False),
        ("essay.log", "One line.\nAnother line.", False),
    ],
)
def test_markdown_by_extension_else_by_content(
    tmp_path: Path, name: str, text: str, markdown: bool
) -> None:
    assert read_source(write(tmp_path, name, text.encode())).markdown is markdown


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        read_source(tmp_path / "nope.md")
    assert info.value.hint


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory") as info:
        read_source(tmp_path)
    assert info.value.hint


@pytest.mark.parametrize(
    "data",
    [
        PNG,
        gzip.compress(b"An essay, compressed." * 20),
        b"Text with a NUL\x00 byte in it.",
        bytes(range(1, 32)) * 4,  # control characters, no NUL
    ],
    ids=["png", "gzip", "nul", "controls"],
)
def test_binary_files_are_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match="binary") as info:
        read_source(write(tmp_path, "essay.md", data))
    assert info.value.hint


def test_other_encodings_are_refused_with_a_hint_to_resave(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not valid UTF-8.*line 2") as info:
        read_source(write(tmp_path, "essay.txt", "Title\nCaf\u00e9 au lait.\n".encode("latin-1")))
    assert "UTF-8" in info.value.hint


def test_utf16_is_refused_as_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="UTF-16") as info:
        read_source(write(tmp_path, "essay.txt", "Hello there.".encode("utf-16")))
    assert "UTF-8" in info.value.hint


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf\n"])
def test_empty_or_blank_files_are_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match=r"empty|only whitespace") as info:
        read_source(write(tmp_path, "essay.txt", data))
    assert info.value.hint
