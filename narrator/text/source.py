"""Read an essay file into a `SourceText`: checked, decoded as UTF-8, newlines made LF.

The file is only ever read. Every way it can be unusable raises `InputError` with a hint.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from narrator.errors import InputError
from narrator.model import SourceText

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mdx"})
PLAIN_SUFFIXES = frozenset({".txt", ".text"})

# Signatures of binary formats people might pass by mistake (images, archives, PDFs...).
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"\x1f\x8b",  # gzip
    b"PK\x03\x04",  # zip, docx, epub, odt
    b"%PDF-",
    b"\x7fELF",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SAMPLE_BYTES = 8192
# Control bytes that turn up in real text files (tab, newlines, form feed, ANSI escape...).
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\b\x1b")
_MAX_CONTROL_SHARE = 0.05

# Any one of these marks a file of unknown extension as Markdown.
_MARKDOWN_SIGNS = (
    re.compile(r"\A---[ \t]*\n.*?^---[ \t]*$", re.MULTILINE | re.DOTALL),  # YAML front matter
    re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE),  # ATX heading
    re.compile(r"^ {0,3}\S.*\n {0,3}(?:=+|-{2,})[ \t]*$", re.MULTILINE),  # Setext underline
    re.compile(r"(?<![\w*])(\*\*?)(?=\S)[^*\n]+(?<=\S)\1(?![\w*])"),  # *emphasis*, **strong**
    re.compile(r"(?<![\w_])(__?)(?=\S)[^_\n]+(?<=\S)\1(?![\w_])"),  # _emphasis_, __strong__
    re.compile(r"\[[^\]\n]+\]\([^)\s]+(?:[ \t][^)\n]*)?\)"),  # [link](url)
)


_NAME_SEPARATORS = re.compile(r"[\s_-]+")


def read_source(path: Path) -> SourceText:
    """Read and clean the essay at `path`; raise `InputError` if it is not usable text."""
    raw = _read_bytes(path)
    text = _decode(raw, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        what = "is empty" if not text else "contains only whitespace"
        raise InputError(f"{path} {what}", "write the essay in it, or pass another file")
    return SourceText(
        path=path,
        text=text,
        sha256=hashlib.sha256(raw).hexdigest(),
        markdown=is_markdown(path, text),
    )


def is_markdown(path: Path, text: str) -> bool:
    """Whether to parse `text` as Markdown: by extension, else by its look."""
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return True
    if suffix in PLAIN_SUFFIXES:
        return False
    return any(sign.search(text) for sign in _MARKDOWN_SIGNS)


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise InputError(f"{path} does not exist", "check the path and the current directory")
    if path.is_dir():
        raise InputError(f"{path} is a directory", "pass the essay file inside it instead")
    if not path.is_file():
        raise InputError(f"{path} is not a regular file", "pass a text or Markdown file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"{path} cannot be read ({exc.strerror})", "check the file's permissions"
        ) from exc


def _decode(raw: bytes, path: Path) -> str:
    """Decode UTF-8 (dropping a BOM), telling binary files and other encodings apart."""
    if raw.startswith(_UTF16_BOMS):
        raise InputError(f"{path} is UTF-16 text", "re-save it as UTF-8 and try again")
    if _looks_binary(raw):
        raise InputError(
            f"{path} is a binary file, not text", "pass the essay as a .txt or .md file"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} on line {line})",
            "re-save it as UTF-8 (most editors offer this under Save As or Encoding)",
        ) from exc


def _looks_binary(raw: bytes) -> bool:
    if raw.startswith(_BINARY_MAGIC) or b"\x00" in raw:
        return True
    sample = raw[:_SAMPLE_BYTES]
    controls = sum(
        1 for byte in sample if (byte < 0x20 or byte == 0x7F) and byte not in _TEXT_CONTROLS
    )
    return controls > _MAX_CONTROL_SHARE * len(sample)


def readable_name(name: str, fallback: str = "Untitled") -> str:
    """A title made from a file or folder name: `my_essay-draft` -> `My Essay Draft`."""
    words = _NAME_SEPARATORS.split(name)
    return " ".join(word[:1].upper() + word[1:] for word in words if word) or fallback
