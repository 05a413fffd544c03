"""The frozen values that flow between the pipeline's stages. No I/O here.

parse:    SourceText -> Essay      (chapters of blocks of inline spans)
markup:   Essay      -> Script     (chapters of spoken segments with pauses)
synthesize / assemble / tag: Script -> audio -> tagged file -> BuildResult
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

ProgressCallback = Callable[[str, int, int], None]
"""Called as long work advances, with (stage, units done, units in all)."""


class Emphasis(str, Enum):
    """How strongly a stretch of text is stressed (the SSML levels we use)."""

    NONE = "none"
    MODERATE = "moderate"
    STRONG = "strong"


class Style(str, Enum):
    """How a segment is voiced: headings and quotations have prosody of their own."""

    BODY = "body"
    HEADING = "heading"
    QUOTE = "quote"


class BlockKind(str, Enum):
    """What kind of block of prose a `Block` came from; markup paces each differently."""

    PARAGRAPH = "paragraph"
    HEADING = "heading"
    LIST_ITEM = "list_item"
    QUOTE = "quote"


@dataclass(frozen=True)
class Span:
    """A run of text to be spoken, with one emphasis level."""

    text: str
    emphasis: Emphasis = Emphasis.NONE


@dataclass(frozen=True)
class Break:
    """An explicit pause the author asked for (`<break time="1.5s"/>`)."""

    ms: int


Inline = Span | Break


@dataclass(frozen=True)
class Block:
    """A paragraph, list item, block quote or inner heading, as inline runs in reading order."""

    kind: BlockKind
    inlines: tuple[Inline, ...]

    @property
    def text(self) -> str:
        """The block's plain text, markup dropped (for tests and word counts)."""
        return "".join(i.text for i in self.inlines if isinstance(i, Span))


@dataclass(frozen=True)
class Chapter:
    """One chapter of the essay.

    `spoken_title` is False for a lead chapter whose title was not written as a heading
    (prose before the first heading takes the episode title, which is not read aloud).
    """

    title: str
    blocks: tuple[Block, ...]
    spoken_title: bool = True


@dataclass(frozen=True)
class SourceText:
    """An essay file, decoded and cleaned (BOM stripped, newlines made LF)."""

    path: Path
    text: str
    sha256: str
    markdown: bool


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Essay:
    """The parsed essay: its metadata and chapters.

    `front_matter` holds every key of a Markdown file's YAML front matter as written;
    config picks the narrator settings out of it.
    """

    title: str
    chapters: tuple[Chapter, ...]
    author: str | None = None
    date: str | None = None
    front_matter: Mapping[str, Any] = field(default_factory=_frozen)
    titled: bool = False  # the title was given or written, not made from the file name
    warnings: tuple[str, ...] = ()  # how the text was read, where not as written


@dataclass(frozen=True)
class Segment:
    """One utterance for the engine: a sentence, or a clause of an over-long one.

    `text` is exactly what will be spoken; `pause_ms` is the silence after it. `display`
    is the written text it stands for in a transcript ("$5", not "five dollars"); a
    segment cut from the same written stretch as the one before has "" (shown with it).
    """

    text: str
    pause_ms: int
    emphasis: Emphasis = Emphasis.NONE
    style: Style = Style.BODY
    display: str = field(default="", compare=False)  # shown, not said: not in equality


@dataclass(frozen=True)
class Utterance:
    """What decides a segment's sound besides the voice: its text, emphasis and style."""

    text: str
    emphasis: Emphasis
    style: Style = Style.BODY


def utterance_of(segment: Segment) -> Utterance:
    return Utterance(segment.text, segment.emphasis, segment.style)


@dataclass(frozen=True)
class ScriptChapter:
    title: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Script:
    """The explicit spoken script of an episode; `narrator script` prints it."""

    title: str
    author: str | None
    chapters: tuple[ScriptChapter, ...]

    @property
    def segments(self) -> list[Segment]:
        """Every chapter's segments, in order."""
        return [s for chapter in self.chapters for s in chapter.segments]


@dataclass(frozen=True)
class Pauses:
    """Silences, in milliseconds, that markup puts after each kind of segment."""

    sentence_ms: int = 500
    paragraph_ms: int = 900
    heading_ms: int = 1000
    chapter_ms: int = 2000
    clause_ms: int = 250  # at a dash, colon, semicolon or parenthesis, and in long sentences
    ellipsis_ms: int = 450  # at an ellipsis inside a sentence


@dataclass(frozen=True)
class Check:
    """The outcome of one named check (`narrator doctor`, `narrator lint`)."""

    name: str
    ok: bool
    detail: str


MAX_TRUE_PEAK_DBTP = -1.0  # the podcast norm for true peaks (AES TD1004)


@dataclass(frozen=True)
class AudioFormat:
    """The encoded episode's format: CBR MP3 by default (phones get durations right)."""

    sample_rate: int = 44100
    bitrate_kbps: int = 64
    channels: int = 1
    loudness: float | None = None  # integrated LUFS target; None: the podcast norm below

    @property
    def target_lufs(self) -> float:
        """The loudness to level to: the setting, else -19 LUFS for mono and -16 for stereo
        (mono at -19 plays as loud as stereo at -16 on two speakers)."""
        if self.loudness is not None:
            return self.loudness
        return -19.0 if self.channels == 1 else -16.0


@dataclass(frozen=True)
class ChapterMark:
    """Where a chapter sits in the encoded file, in milliseconds; marks tile the file."""

    title: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Cue:
    """Where one segment is heard in the encoded file, in milliseconds."""

    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Timeline:
    """The chapters of an encoded file, where each segment is heard, and its duration.

    `cues` holds one tuple per chapter with a cue per segment, in script order.
    """

    chapters: tuple[ChapterMark, ...]
    duration_ms: int
    cues: tuple[tuple[Cue, ...], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The timeline as JSON data, as the cache keeps it beside what it describes."""
        return {
            "chapters": [[m.title, m.start_ms, m.end_ms] for m in self.chapters],
            "duration": self.duration_ms,
            "cues": [[[c.text, c.start_ms, c.end_ms] for c in cues] for cues in self.cues],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timeline:
        """The timeline `to_json` gave; ValueError, KeyError or TypeError if it is not one."""
        chapters = tuple(ChapterMark(str(t), int(a), int(b)) for t, a, b in data["chapters"])
        cues = tuple(tuple(Cue(str(t), int(a), int(b)) for t, a, b in c) for c in data["cues"])
        return cls(chapters, int(data["duration"]), cues)


def clock(ms: int, millis: bool = True, fixed: bool = False) -> str:
    """Milliseconds as a clock: "1:02:03.456", "2:03.456"; without `millis` as a player
    shows it ("1:02:03", "2:03"); `fixed` as WebVTT writes it ("01:02:03.456")."""
    seconds, rest = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if fixed:
        head = f"{hours:02d}:{minutes:02d}"
    else:
        head = f"{hours}:{minutes:02d}" if hours else f"{minutes}"
    return f"{head}:{seconds:02d}" + (f".{rest:03d}" if millis else "")
