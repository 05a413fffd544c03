"""The listening pages `narrator serve` shows a browser, as HTML: pure functions of the
episode data.

Every text that comes from an essay or a file name goes through `html.escape` (URLs are
percent-encoded first). Nothing is inline, neither script nor style nor data: the pages
run under a Content-Security-Policy that allows only the server's own files, and
player.js reads the chapter and cue times from `data-` attributes.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from html import escape
from urllib.parse import quote

from narrator.model import ChapterMark, Cue, clock
from narrator.publish.episodes import Episode

OWN = "_narrator"  # /_narrator/...: the server's own pages and files, before the folder's
LISTEN = "listen"  # /_narrator/listen/NAME.mp3: an episode's page
STYLESHEET = "page.css"  # /_narrator/page.css
SCRIPT = "player.js"  # /_narrator/player.js


def file_url(name: str) -> str:
    """The URL path of a file in the served folder."""
    return "/" + quote(name)


def listen_url(name: str) -> str:
    """The URL path of the listening page of the MP3 called `name`."""
    return f"/{OWN}/{LISTEN}/{quote(name)}"


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{escape(title)}</title>
<link rel="stylesheet" href="/{OWN}/{STYLESHEET}">
<script src="/{OWN}/{SCRIPT}" defer></script>
</head>
<body>
{body}
</body>
</html>
"""


def _cover(episode: Episode, size: int) -> str:
    """The episode's image, decorative (the title is beside it), or an empty square."""
    if not episode.image_file:
        return '<span class="cover placeholder" aria-hidden="true"></span>'
    src = escape(file_url(episode.image_file))
    return f'<img class="cover" src="{src}" alt="" width="{size}" height="{size}">'


def _byline(episode: Episode) -> str:
    parts = [escape(episode.author)] if episode.author else []
    parts.append(f'<span class="length">{clock(episode.duration_s * 1000, millis=False)}</span>')
    return " · ".join(parts)


def index_page(title: str, episodes: Sequence[Episode], files: Sequence[str]) -> str:
    """The folder's page: each episode (cover, title, author, length) linking to its
    page, the feed's address for podcast apps, and every file the server serves."""
    items = "\n".join(
        f"""<li class="episode-card">
<a href="{escape(listen_url(e.name))}">{_cover(e, 96)}<span class="card-text">\
<span class="card-title">{escape(e.title)}</span>
<span class="byline">{_byline(e)}</span></span></a>
</li>"""
        for e in episodes
    )
    listing = (
        f'<ul class="episodes">\n{items}\n</ul>'
        if episodes
        else '<p class="empty">No episodes here yet: build one into this folder.</p>'
    )
    feed = (
        '<p class="feed">In a podcast app, subscribe to <a href="/feed.xml">'
        '<span class="url">feed.xml</span></a>.</p>'
        if "feed.xml" in files
        else ""
    )
    links = "\n".join(f'<li><a href="{escape(file_url(n))}">{escape(n)}</a></li>' for n in files)
    body = f"""<main class="index">
<h1>{escape(title)}</h1>
{listing}
{feed}
<details class="files">
<summary>All files ({len(files)})</summary>
<ul>
{links}
</ul>
</details>
</main>"""
    return _page(title, body)


def episode_page(episode: Episode, chapters: Sequence[ChapterMark], cues: Sequence[Cue]) -> str:
    """An episode's page: the player, the chapters (buttons that jump) and the transcript,
    one paragraph per cue under its chapter's heading."""
    title = escape(episode.title)
    chapter_list = "\n".join(
        f'<li><button type="button" class="chapter" data-start="{c.start_ms / 1000:.3f}">'
        f'<span class="time">{clock(c.start_ms // 1000 * 1000, millis=False)}</span> '
        f'<span class="chapter-title">{escape(c.title)}</span></button></li>'
        for c in chapters
    )
    chapters_html = (
        f'<ol class="chapters">\n{chapter_list}\n</ol>'
        if chapters
        else '<p class="empty">This episode has no chapters file.</p>'
    )
    body = f"""<a class="skip" href="#transcript">Skip to the transcript</a>
<header class="site"><a href="/">All episodes</a></header>
<main class="episode">
<div class="head">
{_cover(episode, 120)}
<div>
<h1>{title}</h1>
<p class="byline">{_byline(episode)}</p>
</div>
</div>
<div class="player" role="region" aria-label="Player">
<audio controls preload="metadata" src="{escape(file_url(episode.name))}" \
data-episode="{escape(episode.name)}" aria-label="Play {title}"></audio>
<div class="controls">
<button type="button" data-skip="-15" aria-label="Back 15 seconds">&minus;15 s</button>
<button type="button" data-skip="30" aria-label="Forward 30 seconds">+30 s</button>
<label>Speed <select class="speed" aria-label="Playback speed">
<option value="0.75">0.75&times;</option>
<option value="1" selected>1&times;</option>
<option value="1.25">1.25&times;</option>
<option value="1.5">1.5&times;</option>
<option value="2">2&times;</option>
</select></label>
</div>
</div>
<div class="columns">
<nav class="toc" aria-labelledby="chapters-heading">
<h2 id="chapters-heading">Chapters</h2>
{chapters_html}
</nav>
<section class="transcript" id="transcript" tabindex="-1" aria-labelledby="transcript-heading">
<h2 id="transcript-heading">Transcript</h2>
{_transcript(chapters, cues)}
</section>
</div>
</main>"""
    return _page(episode.title, body)


def _transcript(chapters: Sequence[ChapterMark], cues: Sequence[Cue]) -> str:
    """The cues as paragraphs, each chapter's under its title (a cue belongs to the last
    chapter that starts at or before it)."""
    if not cues:
        return '<p class="empty">This episode has no transcript file.</p>'
    starts = [c.start_ms for c in chapters]
    html, current = [], -1
    for cue in cues:
        index = max(bisect.bisect_right(starts, cue.start_ms) - 1, 0) if chapters else -1
        if index != current:
            html.append(f"<h3>{escape(chapters[index].title)}</h3>")
            current = index
        html.append(
            f'<p class="cue" data-start="{cue.start_ms / 1000:.3f}" '
            f'data-end="{cue.end_ms / 1000:.3f}">{escape(cue.text)}</p>'
        )
    return "\n".join(html)
