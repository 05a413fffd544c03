"""`narrator feed`: a podcast feed read back from real built episodes, parsed as XML."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import ffmpeg_exe
from mutagen.id3 import APIC, ID3, PictureType
from mutagen.mp3 import MP3

from narrator.model import ChapterMark
from narrator.publish.episodes import Episode
from narrator.publish.feed import Channel, Show, build_feed, write_feed

BASE = "https://example.com/pod"
NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
}
ESSAY = """---
title: Two Rooms
author: Ada Writer
date: 2024-03-01
---

# Two Rooms

## The Kitchen

The kitchen smells of bread.

## The Garden

Bees work the lavender.
"""


def parse(folder: Path) -> ET.Element:
    return ET.parse(folder / "feed.xml").getroot()


def item_of(rss: ET.Element, name: str) -> ET.Element:
    (item,) = [i for i in rss.iter("item") if i.find("enclosure").get("url") == f"{BASE}/{name}"]
    return item


def tiny_mp3(path: Path) -> Path:
    """A second of silence with no ID3 tag: an MP3 that narrator did not make."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "1",
         "-b:a", "32k", "-write_id3v2", "0", "-y", str(path)],
        check=True,
    )  # fmt: skip
    return path


def one_line_error(result) -> str:
    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("narrator: "), result.stderr
    return lines[0]


def test_feed_of_built_episodes(narrate, tmp_path: Path) -> None:
    essay = tmp_path / "rooms.md"
    essay.write_text(ESSAY, encoding="utf-8")
    out = tmp_path / "my_essays"
    out.mkdir()
    (out / "narrator.toml").write_text(  # what directories want: no warnings about it
        'category = "Arts"\nowner_email = "ada@example.com"\n', encoding="utf-8"
    )
    assert narrate("build", essay, "-o", out, "-q").code == 0
    mp3 = out / "rooms.mp3"
    for sidecar in ("rooms.chapters.json", "rooms.vtt"):  # builds write both
        assert (out / sidecar).is_file()
    (out / "broken.mp3").write_text("not audio at all\n" * 20, encoding="utf-8")

    result = narrate("feed", out, "--base-url", BASE + "/")
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    (warning,) = result.stderr.strip().splitlines()
    assert warning.startswith("narrator: warning: broken.mp3")
    assert f"wrote {out / 'feed.xml'} with 1 episode" in result.stdout

    rss = parse(out)
    assert rss.get("version") == "2.0"
    channel = rss.find("channel")
    assert channel.findtext("title") == "My Essays"
    assert channel.findtext("link") == BASE
    assert channel.findtext("language") == "en-us"  # the voice's
    assert channel.findtext("itunes:author", namespaces=NS) == "Ada Writer"
    assert channel.findtext("itunes:explicit", namespaces=NS) == "false"
    cover = channel.find("itunes:image", NS).get("href")  # whichever image the build made
    assert cover.startswith(f"{BASE}/") and (out / cover.rsplit("/", 1)[1]).is_file()
    item = item_of(rss, "rooms.mp3")
    assert item.findtext("title") == "Two Rooms"
    enclosure = item.find("enclosure")
    assert enclosure.get("length") == str(mp3.stat().st_size)
    assert enclosure.get("type") == "audio/mpeg"
    source_sha256 = ID3(mp3).getall("TXXX:source_sha256")[0].text[0]
    guid = item.find("guid")
    assert guid.text == f"narrator:{source_sha256}" and guid.get("isPermaLink") == "false"
    assert item.findtext("itunes:duration", namespaces=NS) == str(round(MP3(mp3).info.length))
    assert item.findtext("itunes:author", namespaces=NS) == "Ada Writer"
    description = item.findtext("description")
    assert description == "Two Rooms by Ada Writer (2024), 2 chapters: The Kitchen; The Garden"
    chapters = item.find("podcast:chapters", NS)
    assert chapters.get("url") == f"{BASE}/rooms.chapters.json"
    assert chapters.get("type") == "application/json+chapters"
    transcript = item.find("podcast:transcript", NS)
    assert transcript.get("url") == f"{BASE}/rooms.vtt" and transcript.get("type") == "text/vtt"
    image = next((n for n in ("rooms.jpg", "rooms.png") if (out / n).is_file()), None)
    if image:
        assert item.find("itunes:image", NS).get("href") == f"{BASE}/{image}"
    assert item.findtext("pubDate") == "Fri, 01 Mar 2024 00:00:00 GMT"  # the essay's date

    # rebuilding the same essay replaces the MP3: the GUID stays
    assert narrate("build", essay, "-o", out, "-q").code == 0
    (out / "broken.mp3").unlink()
    result = narrate("feed", out, "--base-url", BASE)
    assert result.code == 0 and result.stderr == "", result.stderr
    rss = parse(out)
    assert item_of(rss, "rooms.mp3").findtext("guid") == guid.text


def test_an_mp3_narrator_did_not_make(tmp_path: Path) -> None:
    """No narrator tags: the file name gives the title and the GUID; its cover is saved."""
    folder = tmp_path / "quiet_walks-2024"
    folder.mkdir()
    mp3 = tiny_mp3(folder / "field recording.mp3")
    tags = ID3()
    tags.add(APIC(mime="image/jpeg", type=PictureType.COVER_FRONT, desc="", data=b"\xff\xd8jpeg"))
    tags.save(mp3, v2_version=3)
    base = "http://192.168.1.5:8000"
    result = write_feed(folder, base, Show(title="Walks", author="Me"))
    assert result.cover_extracted == folder / "cover.jpg"
    assert (folder / "cover.jpg").read_bytes() == b"\xff\xd8jpeg"
    channel = parse(folder).find("channel")
    assert channel.findtext("title") == "Walks"
    assert channel.findtext("itunes:author", namespaces=NS) == "Me"

    assert write_feed(folder, base).cover_extracted is None  # cover.jpg is there now
    channel = parse(folder).find("channel")
    assert channel.findtext("title") == "Quiet Walks 2024"
    assert channel.findtext("itunes:author", namespaces=NS) is None
    assert channel.find("itunes:image", NS).get("href") == f"{base}/cover.jpg"
    item = channel.find("item")
    assert item.findtext("title") == "field recording"
    assert item.find("enclosure").get("url") == f"{base}/field%20recording.mp3"
    assert item.findtext("guid").startswith("narrator:name:")
    assert item.findtext("description") == "field recording."
    assert item.find("podcast:chapters", NS) is None and item.find("itunes:author", NS) is None


@pytest.mark.parametrize(
    ("make", "base_url", "message"),
    [
        (lambda d: None, BASE, "does not exist"),
        (lambda d: d.mkdir(), BASE, "no episodes in"),
        (lambda d: d.write_text("x"), BASE, "is not a folder"),
        (lambda d: d.mkdir() or tiny_mp3(d / "a.mp3"), "ftp://example.com/pod", "base URL"),
        (lambda d: d.mkdir() or tiny_mp3(d / "a.mp3"), "example.com/pod", "base URL"),
    ],
)
def test_feed_refusals_are_one_line(narrate, tmp_path: Path, make, base_url, message) -> None:
    folder = tmp_path / "episodes"
    make(folder)
    line = one_line_error(narrate("feed", folder, "--base-url", base_url))
    assert message in line
    if message == "no episodes in":
        assert f"build one with narrator build ESSAY -o {folder}" in line
    assert not (folder / "feed.xml").exists()


def episode(**changes: object) -> Episode:
    fields: dict[str, object] = {
        "name": "e.mp3",
        "title": "Title",
        "author": None,
        "year": None,
        "duration_s": 61,
        "size": 1000,
        "modified": datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc),
        "source_sha256": "ab" * 32,
        "chapters": (),
        "chapters_file": None,
        "transcript_file": None,
        "image_file": None,
    }
    return Episode(**{**fields, **changes})  # type: ignore[arg-type]


CHANNEL = Channel(title="Pod", description="Essays.", author=None, image_file=None)


def test_build_feed_escapes_text() -> None:
    hostile = "<script>&\"'</script> \x01"
    marks = (ChapterMark("<b>", 0, 1000),)
    xml = build_feed([episode(title=hostile, author="A & B", chapters=marks)], BASE, CHANNEL)
    item = ET.fromstring(xml).find("channel/item")
    assert item.findtext("title") == hostile.replace("\x01", "")  # no XML 1.0 form exists
    assert item.findtext("itunes:author", namespaces=NS) == "A & B"
    assert item.findtext("description") == "&\"' by A & B, 1 chapter:"  # plain text
    assert xml.startswith(b"<?xml") and b'xmlns:podcast="' in xml and b'xmlns:itunes="' in xml


def test_build_feed_gives_each_item_its_own_guid_and_clean_urls() -> None:
    twins = [episode(name="a b.mp3"), episode(name="a#2.mp3")]  # one essay built twice
    rss = ET.fromstring(build_feed(twins, BASE + "//", CHANNEL))
    guids = [i.findtext("guid") for i in rss.iter("item")]
    assert guids[0] == "narrator:" + "ab" * 32 and len(set(guids)) == 2
    urls = [i.find("enclosure").get("url") for i in rss.iter("item")]
    assert urls == [f"{BASE}/a%20b.mp3", f"{BASE}/a%232.mp3"]
    assert [i.findtext("itunes:duration", namespaces=NS) for i in rss.iter("item")] == ["61"] * 2
    assert rss.findtext("channel/pubDate") is None  # nothing depends on when the feed is made
    assert rss.find("channel/item/pubDate").text == "Fri, 01 Mar 2024 12:00:00 GMT"
