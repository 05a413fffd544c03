"""`narrator feed` as podcast directories and apps read it: feedparser, gPodder's
podcastparser, and the tags Apple Podcasts requires or recommends."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import podcastparser
import pytest
from mutagen.id3 import ID3

from narrator.errors import SettingsError
from narrator.model import ChapterMark
from narrator.publish.categories import APPLE_CATEGORIES, check_category
from narrator.publish.episodes import Episode
from narrator.publish.feed import Channel, Show, build_feed, encode_url, write_feed

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "atom": "http://www.w3.org/2005/Atom",
    "psc": "http://podlove.org/simple-chapters",
}
BASE = "https://example.com/my pods/émigrés"
ENCODED = "https://example.com/my%20pods/%C3%A9migr%C3%A9s"


def essay(title: str, date: str | None) -> str:
    dated = f"date: {date}\n" if date else ""
    return (
        f"---\ntitle: {title}\nauthor: Ada Writer\n{dated}---\n\n# {title}\n\n"
        "## The Kitchen\n\nThe kitchen smells of bread.\n\n"
        "## The Garden\n\nBees work the lavender.\n"
    )


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three built episodes: an old dated one, a newer dated one, an undated French one."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("shelf")
    out = root / "episodes"
    out.mkdir()
    sources = {
        "old.md": essay("Old Rooms", "2023-05-01"),
        "new.md": essay("New Rooms", "2024-03-01"),
        "undated.md": essay("Les Pièces", None),
    }
    for name, text in sources.items():
        (root / name).write_text(text, encoding="utf-8")

    def build(*args: str | Path) -> None:
        command = [sys.executable, "-m", "narrator", "build", *map(str, args), "-o", out, "-q"]
        subprocess.run(list(map(str, command)), check=True, cwd=root, capture_output=True)

    build(root / "old.md", root / "new.md")
    build(root / "undated.md", "--voice", "roa/fr")
    return out


def run_feed(narrate, folder: Path, *args: str):
    result = narrate("feed", folder, "--base-url", BASE, *args)
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_feedparser_and_podcastparser_read_every_episode(narrate, shelf: Path) -> None:
    (shelf / "narrator.toml").write_text(
        'category = "society & culture"\nsubcategory = "Philosophy"\n'
        'owner_name = "Ada Writer"\nowner_email = "ada@example.com"\n',
        encoding="utf-8",
    )
    try:
        result = run_feed(narrate, shelf)
    finally:
        (shelf / "narrator.toml").unlink()
    assert result.stderr == ""  # category and owner set: nothing to warn about
    data = (shelf / "feed.xml").read_bytes()

    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 3
    for entry in parsed.entries:
        (enclosure,) = entry.enclosures
        assert enclosure.href.startswith(f"{ENCODED}/") and enclosure.type == "audio/mpeg"
        assert int(entry.itunes_duration) > 0
    assert {"Society & Culture", "Philosophy"} <= {tag.term for tag in parsed.feed.tags}

    podcast = podcastparser.parse(f"{ENCODED}/feed.xml", io.BytesIO(data))
    assert len(podcast["episodes"]) == 3
    for episode in podcast["episodes"]:
        (enclosure,) = episode["enclosures"]
        assert enclosure["url"].startswith(f"{ENCODED}/") and enclosure["file_size"] > 0
        assert episode["total_time"] > 0
        titles = [chapter["title"] for chapter in episode["chapters"]]
        assert titles[-2:] == ["The Kitchen", "The Garden"], titles
        starts = [chapter["start"] for chapter in episode["chapters"]]
        assert starts[0] == 0 and starts == sorted(starts)

    channel = ET.fromstring(data).find("channel")
    owner = channel.find("itunes:owner", NS)
    assert owner.findtext("itunes:email", namespaces=NS) == "ada@example.com"
    assert owner.findtext("itunes:name", namespaces=NS) == "Ada Writer"
    category = channel.find("itunes:category", NS)
    assert category.get("text") == "Society & Culture"
    assert category.find("itunes:category", NS).get("text") == "Philosophy"


def test_apple_required_and_recommended_tags(narrate, shelf: Path) -> None:
    run_feed(narrate, shelf)
    channel = ET.parse(shelf / "feed.xml").getroot().find("channel")
    # required by Apple Podcasts
    for tag in ("title", "description", "language", "itunes:explicit"):
        assert channel.findtext(tag, namespaces=NS), tag
    assert channel.find("itunes:image", NS).get("href").startswith(f"{ENCODED}/")
    category = channel.find("itunes:category", NS)
    assert category.get("text") in APPLE_CATEGORIES
    sub = category.find("itunes:category", NS)
    assert sub is None or sub.get("text") in APPLE_CATEGORIES[category.get("text")]
    # recommended
    assert channel.findtext("link") == ENCODED
    assert channel.findtext("itunes:author", namespaces=NS) == "Ada Writer"
    assert channel.findtext("itunes:type", namespaces=NS) == "episodic"
    self_link = channel.find("atom:link", NS)
    assert self_link.get("rel") == "self" and self_link.get("href") == f"{ENCODED}/feed.xml"
    assert self_link.get("type") == "application/rss+xml"
    for item in channel.iter("item"):
        for tag in ("title", "guid", "pubDate", "description", "itunes:duration"):
            assert item.findtext(tag, namespaces=NS), tag
        enclosure = item.find("enclosure")
        assert all(enclosure.get(key) for key in ("url", "length", "type"))


def test_newest_first_dated_by_the_essay_else_the_file(narrate, shelf: Path) -> None:
    run_feed(narrate, shelf)
    items = list(ET.parse(shelf / "feed.xml").getroot().iter("item"))
    names = [i.find("enclosure").get("url").rsplit("/", 1)[1] for i in items]
    assert names == ["undated.mp3", "new.mp3", "old.mp3"]  # the undated one was built today
    dates = [i.findtext("pubDate") for i in items]
    assert dates[1:] == ["Fri, 01 Mar 2024 00:00:00 GMT", "Mon, 01 May 2023 00:00:00 GMT"]
    built = datetime.fromtimestamp(int((shelf / "undated.mp3").stat().st_mtime), timezone.utc)
    assert dates[0] == built.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert str(ID3(shelf / "new.mp3")["TDRC"]) == "2024-03-01"  # the date rides in the tag


def test_language_from_the_setting_else_the_voice(narrate, shelf: Path) -> None:
    assert ID3(shelf / "undated.mp3").getall("TXXX:language")[0].text == ["fr"]
    assert ID3(shelf / "new.mp3").getall("TXXX:language")[0].text == ["en-us"]
    run_feed(narrate, shelf)  # two of the three episodes are in English
    assert ET.parse(shelf / "feed.xml").getroot().findtext("channel/language") == "en-us"
    run_feed(narrate, shelf, "--language", "de")
    assert ET.parse(shelf / "feed.xml").getroot().findtext("channel/language") == "de"


def test_an_unset_category_warns_and_a_wrong_one_fails(narrate, shelf: Path) -> None:
    result = run_feed(narrate, shelf)
    assert "warning: no category set; filed under Arts > Books" in result.stderr
    assert "warning: no owner e-mail" in result.stderr
    wrong = narrate("feed", shelf, "--base-url", BASE, "--category", "Artz")
    assert wrong.code != 0 and "Traceback" not in wrong.stderr
    assert "'Artz' is not an Apple Podcasts category" in wrong.stderr and "Arts" in wrong.stderr


def test_categories_are_checked_against_apples_list(tmp_path: Path) -> None:
    assert check_category("tv & film", "film reviews") == ("TV & Film", "Film Reviews")
    assert check_category("History", None) == ("History", None)
    with pytest.raises(SettingsError, match="not a subcategory of History"):
        check_category("History", "Wars")
    with pytest.raises(SettingsError, match="not an Apple Podcasts category"):
        write_feed(tmp_path, "https://example.com", Show(category="Philosophy"))


def episode(**changes: object) -> Episode:
    fields = {
        "name": "one.mp3", "title": "One", "author": None, "year": None, "duration_s": 61,
        "size": 1000, "modified": datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc),
        "source_sha256": "ab" * 32, "chapters": (), "chapters_file": None,
        "transcript_file": None, "image_file": None,
    }  # fmt: skip
    return Episode(**{**fields, **changes})  # type: ignore[arg-type]


CHANNEL = Channel(title="Pod", description="Essays.", author=None, image_file=None)


def test_the_description_is_plain_text() -> None:
    hostile = '<img src=x onerror="alert(1)">Rooms'
    marks = (ChapterMark("<b>Bold</b> move", 0, 1000),)
    xml = build_feed([episode(title=hostile, chapters=marks)], "https://e.com", CHANNEL)
    description = ET.fromstring(xml).findtext("channel/item/description")
    assert description == "Rooms, 1 chapter: Bold move"
    assert b"&lt;img" not in xml.split(b"<description>Rooms")[1]


def test_podlove_simple_chapters_in_each_item() -> None:
    marks = (ChapterMark("Start", 0, 62_500), ChapterMark("A & B", 62_500, 3_725_000))
    xml = build_feed([episode(chapters=marks)], "https://e.com", CHANNEL)
    chapters = ET.fromstring(xml).find("channel/item/psc:chapters", NS)
    assert chapters.get("version") == "1.2"
    found = [(c.get("start"), c.get("title")) for c in chapters.findall("psc:chapter", NS)]
    assert found == [("00:00:00.000", "Start"), ("00:01:02.500", "A & B")]


def test_the_whole_base_url_is_encoded() -> None:
    assert encode_url("https://example.com/my pods/émigrés/") == f"{ENCODED}/"
    assert encode_url("https://bücher.example:8080/a%20b/100%") == (
        "https://xn--bcher-kva.example:8080/a%20b/100%25"
    )
    assert encode_url("http://[::1]:8000/x") == "http://[::1]:8000/x"
    xml = build_feed([episode(name="é 1.mp3")], BASE, CHANNEL)
    assert f'url="{ENCODED}/%C3%A9%201.mp3"'.encode() in xml


def test_newest_first() -> None:
    older = episode(name="a.mp3", source_sha256="1" * 64)
    newer = episode(
        name="b.mp3", source_sha256="2" * 64,
        published=datetime(2025, 1, 2, tzinfo=timezone.utc),
    )  # fmt: skip
    items = ET.fromstring(build_feed([older, newer], "https://e.com", CHANNEL)).iter("item")
    assert [i.find("enclosure").get("url") for i in items] == [
        "https://e.com/b.mp3",
        "https://e.com/a.mp3",
    ]
