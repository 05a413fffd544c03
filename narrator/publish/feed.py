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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from mutagen import MutagenError
from mutagen.id3 import ID3, PictureType

from narrator.atomic import atomic_output
from narrator.errors import InputError, OutputError, SettingsError
from narrator.publish.categories import DEFAULT_CATEGORY, check_category
from narrator.publish.episodes import IMAGE_SUFFIXES, Episode, read_episode
from narrator.text.source import readable_name

FEED = "feed.xml"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
PSC = "http://podlove.org/simple-chapters"  # Podlove Simple Chapters: gPodder reads these
ET.register_namespace("itunes", ITUNES)
ET.register_namespace("podcast", PODCAST)
ET.register_namespace("atom", ATOM)
ET.register_namespace("psc", PSC)

# podcast:guid is a UUIDv5 of the feed URL in this namespace (the Podcasting 2.0 spec)
_PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
_COVERS = tuple(f"cover{suffix}" for suffix in IMAGE_SUFFIXES)
_COVER_SUFFIX = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # no XML 1.0 escape exists
_TAG = re.compile(r"<[^<>]*>")
_DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Show:
    """What the podcaster says about the show (narrator.toml or `narrator feed`'s options);
    None leaves it to the episodes or to a default."""

    title: str | None = None
    author: str | None = None
    language: str | None = None  # a language tag, e.g. "en-us"
    category: str | None = None  # one of Apple's (categories.py)
    subcategory: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None


@dataclass(frozen=True)
class Channel:
    title: str
    description: str
    author: str | None
    image_file: str | None  # a file in the folder
    language: str = _DEFAULT_LANGUAGE
    category: tuple[str, str | None] = DEFAULT_CATEGORY  # Apple's category, subcategory
    owner_name: str | None = None
    owner_email: str | None = None


@dataclass(frozen=True)
class FeedResult:
    path: Path
    episodes: tuple[Episode, ...]
    skipped: tuple[str, ...]  # why each unreadable MP3 was left out
    cover_extracted: Path | None  # the channel image, when taken from an MP3's tags
    warnings: tuple[str, ...] = ()  # what directories want that the feed had to guess


def episode_guid(episode: Episode) -> str:
    """A stable id: the essay's hash, else (an MP3 narrator did not tag) its file name's."""
    if episode.source_sha256:
        return f"narrator:{episode.source_sha256}"
    return f"narrator:name:{hashlib.sha256(episode.name.encode()).hexdigest()}"


def describe(episode: Episode) -> str:
    """E.g. "Walking by Henry David Thoreau (1862), 2 chapters: One; Two", as plain text:
    anything that looks like an HTML tag is left out, since apps may render it."""
    head = episode.title
    if episode.author:
        head += f" by {episode.author}"
    if episode.year:
        head += f" ({episode.year})"
    titles = [mark.title for mark in episode.chapters]
    text = f"{head}, {len(titles)} chapter{'s' * (len(titles) != 1)}: {'; '.join(titles)}"
    return " ".join(_NOT_XML.sub("", _TAG.sub("", text if titles else f"{head}.")).split())


def published(episode: Episode) -> datetime:
    """When the episode counts as published: the essay's date, else the file's time."""
    return episode.published or episode.modified


def encode_url(url: str) -> str:
    """`url` with its host in IDNA form and its path percent-encoded (existing escapes
    kept); no query or fragment."""
    parts = urlsplit(url.strip())
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, port = hostport, ""
    if not hostport.startswith("[") and ":" in hostport:  # an IPv6 host keeps its brackets
        host, port = hostport.rsplit(":", 1)
        port = f":{port}"
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InputError(
            f"the base URL {url!r} has a host name that cannot be encoded",
            "check the address",
        ) from None
    path = re.sub("%(?![0-9A-Fa-f]{2})", "%25", parts.path)
    path = quote(path, safe="/%!$&'()*+,;=:@-._~")
    netloc = f"{quote(userinfo, safe=':%')}{at}{host}{port}"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def build_feed(episodes: Sequence[Episode], base_url: str, channel: Channel) -> bytes:
    """The feed as UTF-8 XML, newest episode first; files are linked as `base_url`/NAME.

    Two MP3s of the same essay (say, in two voices) would share a GUID, and apps would
    show only one: each GUID after the first (in the order given) falls back to its file
    name's hash.
    """
    base = encode_url(base_url).rstrip("/")

    def url(name: str) -> str:
        return f"{base}/{quote(name)}"

    rss = ET.Element("rss", {"version": "2.0"})
    feed = _sub(rss, "channel")
    _sub(feed, "title", channel.title)
    _sub(feed, "link", base)
    _sub(feed, "description", channel.description)
    _sub(feed, "language", channel.language)
    _sub(feed, f"{{{ATOM}}}link", href=url(FEED), rel="self", type="application/rss+xml")
    _sub(feed, f"{{{ITUNES}}}type", "episodic")
    author = channel.author or channel.owner_name
    if author:
        _sub(feed, f"{{{ITUNES}}}author", author)
    if channel.owner_name or channel.owner_email:
        owner = _sub(feed, f"{{{ITUNES}}}owner")
        if channel.owner_name:
            _sub(owner, f"{{{ITUNES}}}name", channel.owner_name)
        if channel.owner_email:
            _sub(owner, f"{{{ITUNES}}}email", channel.owner_email)
    category, subcategory = channel.category
    # the names come from categories.py; an attribute called "text" will not fit _sub
    parent = ET.SubElement(feed, f"{{{ITUNES}}}category", {"text": category})
    if subcategory:
        ET.SubElement(parent, f"{{{ITUNES}}}category", {"text": subcategory})
    _sub(feed, f"{{{ITUNES}}}explicit", "false")
    if channel.image_file:
        _sub(feed, f"{{{ITUNES}}}image", href=url(channel.image_file))
    # the show's id, as the spec derives it from the feed URL (the scheme left out)
    address = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url(FEED), flags=re.IGNORECASE).rstrip("/")
    _sub(feed, f"{{{PODCAST}}}guid", str(uuid.uuid5(_PODCAST_GUID_NAMESPACE, address)))
    guids: dict[str, str] = {}  # file name -> GUID
    for episode in episodes:
        guid = episode_guid(episode)
        if guid in guids.values():
            guid = episode_guid(replace(episode, source_sha256=None))
        guids[episode.name] = guid
    for episode in sorted(episodes, key=lambda e: (-published(e).timestamp(), e.name)):
        item = _sub(feed, "item")
        _sub(item, "title", episode.title)
        _sub(item, "description", describe(episode))
        _sub(item, "enclosure", url=url(episode.name), length=str(episode.size), type="audio/mpeg")
        _sub(item, "guid", guids[episode.name], isPermaLink="false")
        _sub(item, "pubDate", format_datetime(published(episode), usegmt=True))
        _sub(item, f"{{{ITUNES}}}duration", str(episode.duration_s))
        if episode.author:
            _sub(item, f"{{{ITUNES}}}author", episode.author)
        if episode.image_file:
            _sub(item, f"{{{ITUNES}}}image", href=url(episode.image_file))
        if episode.chapters:
            chapters = _sub(item, f"{{{PSC}}}chapters", version="1.2")
            for mark in episode.chapters:
                _sub(chapters, f"{{{PSC}}}chapter", start=_npt(mark.start_ms), title=mark.title)
        if episode.chapters_file:
            link = url(episode.chapters_file)
            _sub(item, f"{{{PODCAST}}}chapters", url=link, type="application/json+chapters")
        if episode.transcript_file:
            link = url(episode.transcript_file)
            _sub(item, f"{{{PODCAST}}}transcript", url=link, type="text/vtt")
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def _npt(ms: int) -> str:
    """Milliseconds as Podlove's normal play time, HH:MM:SS.mmm."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _NOT_XML.sub("", v) for k, v in attrs.items()})
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def write_feed(folder: Path, base_url: str, show: Show | None = None) -> FeedResult:
    """Write FOLDER/feed.xml for every readable MP3 in FOLDER.

    The channel image is cover.jpg or cover.png, else the first episode image, else the
    front cover in the first MP3 that has one, saved as FOLDER/cover.jpg (or .png). The
    language is the show's, else the one most episodes were spoken in.
    """
    show = show or Show()
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
    if show.subcategory and not show.category:
        raise SettingsError("subcategory is set but category is not", "set category too")
    category = (
        check_category(show.category, show.subcategory) if show.category else DEFAULT_CATEGORY
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
        if not path.is_file():  # a FIFO would block the read forever; a folder cannot be one
            skipped.append(f"{path} is not a regular file")
            continue
        try:
            episodes.append(read_episode(path))
        except InputError as exc:
            skipped.append(str(exc))
    if not episodes:
        raise InputError(f"no readable episodes in {folder}", "; ".join(skipped))
    image, extracted = _channel_image(folder, episodes)
    spoken = Counter(e.language for e in episodes if e.language).most_common(1)
    channel = Channel(
        title=show.title or readable_name(folder.resolve().name, "Essays"),
        description="Essays read aloud, made with narrator.",
        author=show.author or next((e.author for e in episodes if e.author), None),
        image_file=image,
        language=show.language or (spoken[0][0] if spoken else _DEFAULT_LANGUAGE),
        category=category,
        owner_name=show.owner_name,
        owner_email=show.owner_email,
    )
    target = folder / FEED
    _write(target, build_feed(episodes, base_url, channel))
    return FeedResult(target, tuple(episodes), tuple(skipped), extracted, _warnings(show, channel))


def _warnings(show: Show, channel: Channel) -> tuple[str, ...]:
    """What Apple Podcasts requires or asks for that the feed had to guess or leave out."""
    found = []
    if not show.category:
        found.append(
            f"no category set; filed under {' > '.join(filter(None, DEFAULT_CATEGORY))}"
            " (set category and subcategory in narrator.toml, or --category)"
        )
    if not channel.owner_email:
        found.append(
            "no owner e-mail; Apple Podcasts asks for one to verify the show"
            " (set owner_email in narrator.toml, or --owner-email)"
        )
    if not channel.image_file:
        found.append("no cover image; podcast directories require one (add cover.jpg)")
    return tuple(found)


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
