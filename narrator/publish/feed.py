"""`narrator feed`: an RSS 2.0 podcast feed (iTunes and Podcasting 2.0 tags) for a folder
of built episodes, read back from the MP3s' own tags so the feed needs no other record.

Episode GUIDs come from the essay's hash (TXXX:source_sha256), so rebuilding an essay,
with another voice or after a narrator upgrade, does not make podcast apps see a new
episode; only an edit to the essay does.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from mutagen import MutagenError
from mutagen.id3 import ID3, PictureType

from narrator.atomic import atomic_output
from narrator.errors import InputError, OutputError
from narrator.publish.episodes import IMAGE_SUFFIXES, Episode, read_episode
from narrator.text.source import readable_name

FEED = "feed.xml"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ET.register_namespace("itunes", ITUNES)
ET.register_namespace("podcast", PODCAST)

# podcast:guid is a UUIDv5 of the feed URL in this namespace (the Podcasting 2.0 spec)
_PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
_COVERS = tuple(f"cover{suffix}" for suffix in IMAGE_SUFFIXES)
_COVER_SUFFIX = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # no XML 1.0 escape exists


@dataclass(frozen=True)
class Channel:
    title: str
    description: str
    author: str | None
    image_file: str | None  # a file in the folder


@dataclass(frozen=True)
class FeedResult:
    path: Path
    episodes: tuple[Episode, ...]
    skipped: tuple[str, ...]  # why each unreadable MP3 was left out
    cover_extracted: Path | None  # the channel image, when taken from an MP3's tags


def episode_guid(episode: Episode) -> str:
    """A stable id: the essay's hash, else (an MP3 narrator did not tag) its file name's."""
    if episode.source_sha256:
        return f"narrator:{episode.source_sha256}"
    return f"narrator:name:{hashlib.sha256(episode.name.encode()).hexdigest()}"


def describe(episode: Episode) -> str:
    """E.g. "Walking by Henry David Thoreau (1862), 2 chapters: One; Two"."""
    head = episode.title
    if episode.author:
        head += f" by {episode.author}"
    if episode.year:
        head += f" ({episode.year})"
    count = len(episode.chapters)
    if not count:
        return f"{head}."
    return f"{head}, {count} chapter{'s' * (count != 1)}: {'; '.join(episode.chapters)}"


def build_feed(episodes: Sequence[Episode], base_url: str, channel: Channel) -> bytes:
    """The feed as UTF-8 XML; files are linked as `base_url`/NAME.

    Two MP3s of the same essay (say, in two voices) would share a GUID, and apps would
    show only one: each GUID after the first falls back to its file name's hash.
    """
    base = base_url.rstrip("/")

    def url(name: str) -> str:
        return f"{base}/{quote(name)}"

    rss = ET.Element("rss", {"version": "2.0"})
    feed = _sub(rss, "channel")
    _sub(feed, "title", channel.title)
    _sub(feed, "link", base)
    _sub(feed, "description", channel.description)
    _sub(feed, "language", "en")
    if channel.author:
        _sub(feed, f"{{{ITUNES}}}author", channel.author)
    _sub(feed, f"{{{ITUNES}}}explicit", "false")
    if channel.image_file:
        _sub(feed, f"{{{ITUNES}}}image", href=url(channel.image_file))
    # the show's id, as the spec derives it from the feed URL (the scheme left out)
    address = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url(FEED), flags=re.IGNORECASE).rstrip("/")
    _sub(feed, f"{{{PODCAST}}}guid", str(uuid.uuid5(_PODCAST_GUID_NAMESPACE, address)))
    seen: set[str] = set()
    for episode in episodes:
        guid = episode_guid(episode)
        if guid in seen:
            guid = episode_guid(replace(episode, source_sha256=None))
        seen.add(guid)
        item = _sub(feed, "item")
        _sub(item, "title", episode.title)
        _sub(item, "description", describe(episode))
        _sub(item, "enclosure", url=url(episode.name), length=str(episode.size), type="audio/mpeg")
        _sub(item, "guid", guid, isPermaLink="false")
        _sub(item, "pubDate", format_datetime(episode.modified, usegmt=True))
        _sub(item, f"{{{ITUNES}}}duration", str(episode.duration_s))
        if episode.author:
            _sub(item, f"{{{ITUNES}}}author", episode.author)
        if episode.image_file:
            _sub(item, f"{{{ITUNES}}}image", href=url(episode.image_file))
        if episode.chapters_file:
            link = url(episode.chapters_file)
            _sub(item, f"{{{PODCAST}}}chapters", url=link, type="application/json+chapters")
        if episode.transcript_file:
            link = url(episode.transcript_file)
            _sub(item, f"{{{PODCAST}}}transcript", url=link, type="text/vtt")
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _NOT_XML.sub("", v) for k, v in attrs.items()})
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def write_feed(
    folder: Path, base_url: str, title: str | None = None, author: str | None = None
) -> FeedResult:
    """Write FOLDER/feed.xml for every readable MP3 in FOLDER, sorted by file name.

    The channel image is cover.jpg or cover.png, else the first episode image, else the
    front cover in the first MP3 that has one, saved as FOLDER/cover.jpg (or .png).
    """
    if not folder.exists():
        raise InputError(f"{folder} does not exist", "pass the folder your episodes are in")
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder", "pass the folder your episodes are in")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(
            f"the base URL {base_url!r} is not an http(s) address",
            "pass where FOLDER is published, e.g. --base-url https://example.com/podcast",
        )
    paths = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() == ".mp3" and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    if not paths:
        raise InputError(
            f"no episodes in {folder}", f"build one with narrator build ESSAY -o {folder}"
        )
    episodes, skipped = [], []
    for path in paths:
        try:
            episodes.append(read_episode(path))
        except InputError as exc:
            skipped.append(str(exc))
    if not episodes:
        raise InputError(f"no readable episodes in {folder}", "; ".join(skipped))
    image, extracted = _channel_image(folder, episodes)
    channel = Channel(
        title=title or readable_name(folder.resolve().name, "Essays"),
        description="Essays read aloud, made with narrator.",
        author=author or next((e.author for e in episodes if e.author), None),
        image_file=image,
    )
    target = folder / FEED
    _write(target, build_feed(episodes, base_url, channel))
    return FeedResult(target, tuple(episodes), tuple(skipped), extracted)


def _channel_image(folder: Path, episodes: Sequence[Episode]) -> tuple[str | None, Path | None]:
    """The channel image's file name, and its path when it was just extracted."""
    for name in _COVERS:
        if (folder / name).is_file():
            return name, None
    for episode in episodes:
        if episode.image_file:
            return episode.image_file, None
    for episode in episodes:
        try:
            pictures = ID3(folder / episode.name).getall("APIC")
        except (MutagenError, OSError):
            continue
        for picture in pictures:
            suffix = _COVER_SUFFIX.get(picture.mime.lower())
            if picture.type == PictureType.COVER_FRONT and suffix:
                target = folder / f"cover{suffix}"
                _write(target, picture.data)
                return target.name, target
    return None, None


def _write(target: Path, data: bytes) -> None:
    try:
        with atomic_output(target) as temp:
            temp.write_bytes(data)
    except OSError as exc:
        raise OutputError(
            f"cannot write {target}: {exc.strerror or exc}", "check the folder's permissions"
        ) from None
