"""The listening pages of `narrator serve`: over plain HTTP, and in a real browser
(Debian's chromium, driven by Playwright; `scripts/test` installs it where it can).

One folder for the module: the seed essay built, an essay titled with a script tag, and
files the server must not read for a page (hidden, a symlink out, a symlinked sidecar).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import pytest
from helpers import SEED
from mutagen.mp3 import MP3

from narrator.model import ChapterMark, Cue, clock
from narrator.publish.episodes import Episode
from narrator.publish.pages import episode_page, index_page
from narrator.publish.sidecars import read_webvtt

SCRIPT_TITLE = "<script>alert(1)</script>"
XSS_ESSAY = f"""---
title: "{SCRIPT_TITLE}"
author: "<b>Eve</b> & co"
---

# {SCRIPT_TITLE}

She wrote x<y & <img src=x onerror=alert(2)> on
https://example.com/a/very/long/path/without/any/spaces/at/all/that/must/wrap/somewhere/on/a/phone.

## Second

More text.
"""
SECRET = "the secret transcript outside the folder"
CHROMIUM_HINT = "sudo apt-get install chromium, or set NARRATOR_CHROMIUM=/path/to/chromium"


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("page")
    folder = root / "pod"
    folder.mkdir()
    essay = root / "xss.md"
    essay.write_text(XSS_ESSAY, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", "build", str(SEED), str(essay), "-o", str(folder), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    (root / "outside.mp3").write_bytes((folder / "xss.mp3").read_bytes())
    (folder / "leak.mp3").symlink_to(root / "outside.mp3")
    (folder / ".hidden.mp3").write_bytes((folder / "xss.mp3").read_bytes())
    (folder / "sneaky.mp3").write_bytes((folder / "xss.mp3").read_bytes())
    (root / "secret.vtt").write_text(f"WEBVTT\n\n00:00.000 --> 00:01.000\n{SECRET}\n", "utf-8")
    (folder / "sneaky.vtt").symlink_to(root / "secret.vtt")
    return folder


def request(base: str, path: str, method: str = "GET") -> tuple[http.client.HTTPResponse, bytes]:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def base(pod: Path) -> Iterator[str]:
    """The real `narrator serve` on a free loopback port, stopped with Ctrl-C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "serve", str(pod), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        found = None
        for _ in range(3):  # the first line with the server's address
            first = proc.stdout.readline()
            if found := re.search(r"http://[^/\s]+", first):
                break
        assert found, first
        url = found[0]
        assert url.startswith("http://127.0.0.1:"), first
        deadline = time.monotonic() + 20
        while True:
            try:
                request(url, "/", "HEAD")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


SEED_PAGE = f"/_narrator/listen/{SEED.stem}.mp3"


def seed_chapters(pod: Path) -> list[dict[str, Any]]:
    return json.loads((pod / f"{SEED.stem}.chapters.json").read_text("utf-8"))["chapters"]


# pure rendering


def test_clock() -> None:
    times = [clock(s, millis=False) for s in (0, 7900, 652000, 3723000)]
    assert times == ["0:00", "0:07", "10:52", "1:02:03"]


def test_a_hostile_file_name_is_escaped_everywhere() -> None:
    name = 'x"><img src=x onerror=alert(1)>&.mp3'
    episode = Episode(
        name=name, title=name, author=None, year=None, duration_s=61, size=1,
        modified=datetime.now(timezone.utc), source_sha256=None, chapters=(),
        chapters_file=None, transcript_file=None, image_file=name.replace(".mp3", ".png"),
    )  # fmt: skip
    index = index_page("<Pod>", [episode], [name])
    page = episode_page(episode, [ChapterMark("<i>1</i>", 0, 61_000)], [Cue("</p><b>", 0, 9)])
    for html in (index, page):
        assert "<img src=x" not in html and "<i>" not in html and "<b>" not in html
        assert escape(name) in html
    quoted = "x%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%26.mp3"
    assert f'href="/_narrator/listen/{quoted}"' in index
    assert f'src="/{quoted}"' in page


# plain HTTP


@pytest.mark.parametrize("path", ["/", SEED_PAGE, "/_narrator/listen/xss.mp3"])
def test_pages_are_html_under_a_strict_policy(base: str, path: str) -> None:
    for method in ("GET", "HEAD"):
        response, body = request(base, path, method)
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/html; charset=utf-8"
        policy = response.getheader("Content-Security-Policy") or ""
        assert "default-src 'self'" in policy and "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert (body == b"") == (method == "HEAD")


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/_narrator/page.css", "text/css"), ("/_narrator/player.js", "text/javascript")],
)
def test_the_page_assets_are_served_with_their_types(base: str, path: str, kind: str) -> None:
    response, body = request(base, path)
    assert response.status == 200 and body
    assert response.getheader("Content-Type") == f"{kind}; charset=utf-8"


def test_pages_load_nothing_from_elsewhere(base: str) -> None:
    for path in ("/", SEED_PAGE, "/_narrator/page.css", "/_narrator/player.js"):
        _, body = request(base, path)
        for outside in (b"http:", b"https:", b'"//', b"@import", b"url(", b"style="):
            assert outside not in body, (path, outside)


def test_index_lists_episodes_with_their_pages(base: str, pod: Path) -> None:
    _, body = request(base, "/")
    page = body.decode()
    assert '<html lang="en">' in page and 'name="viewport"' in page
    assert f'href="/_narrator/listen/{SEED.stem}.mp3"' in page
    assert f'src="/{SEED.stem}.png"' in page
    seconds = MP3(pod / f"{SEED.stem}.mp3").info.length  # the seed's length, as mutagen reads it
    assert any(f"{int(s // 60)}:{int(s % 60):02d}" in page for s in (seconds - 0.5, seconds + 0.5))
    assert 'href="/_narrator/listen/leak.mp3"' not in page and ".hidden" not in page
    assert 'href="/feed.xml"' not in page  # no feed written yet
    assert f'href="/{SEED.stem}.vtt"' in page  # every servable file, as "/" listed before


def test_essay_text_is_escaped(base: str) -> None:
    for path in ("/", "/_narrator/listen/xss.mp3"):
        _, body = request(base, path)
        page = body.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in page, path
        assert "<script>alert" not in page and "<b>" not in page and "<img src=x" not in page
        assert page.count("<script") == 1, path  # player.js only


@pytest.mark.parametrize(
    "path",
    [
        "/_narrator",
        "/_narrator/",
        "/_narrator/listen",
        "/_narrator/listen/",
        "/_narrator/listen/missing.mp3",
        "/_narrator/listen/xss.vtt",  # not an episode
        "/_narrator/listen/.hidden.mp3",
        "/_narrator/listen/leak.mp3",  # a symlink out of the folder
        "/_narrator/listen/%2e%2e/pod/xss.mp3",
        "/_narrator/listen/..%2Fpod%2Fxss.mp3",
        "/_narrator/listen/xss.mp3/x",
        "/_narrator/other.js",
        "/_narrator/../page.css",
        "/_narrator/%2e%2e/page.css",
        "/page.css",
    ],
)
def test_new_routes_serve_nothing_else(base: str, path: str) -> None:
    response, _ = request(base, path)
    assert response.status == 404


def test_a_symlinked_sidecar_is_not_read(base: str) -> None:
    response, body = request(base, "/_narrator/listen/sneaky.mp3")
    assert response.status == 200
    assert SECRET.encode() not in body and b"no transcript" in body


# in a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (never a downloaded browser).
    Missing: skipped on a developer's machine, a failure in CI, which must run these."""

    def missing(reason: str) -> None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{reason}: {CHROMIUM_HINT}")

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed")
    path = os.environ.get("NARRATOR_CHROMIUM")
    if path and not os.access(path, os.X_OK):
        missing(f"NARRATOR_CHROMIUM={path} is not an executable")
    path = path or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        missing("no chromium found")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def dialogs() -> list[str]:
    """The message of every alert(), confirm() or prompt() that a page opened."""
    return []


def new_page(browser: Any, dialogs: list[str], bypass_csp: bool = False) -> Any:
    """A page at 1280x800 in a fresh context (its own localStorage)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=bypass_csp)
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


@pytest.fixture
def page(browser: Any, dialogs: list[str]) -> Iterator[Any]:
    page = new_page(browser, dialogs)
    yield page
    page.context.close()


def open_episode(page: Any, base: str, path: str = SEED_PAGE) -> None:
    """Load an episode's page and wait until its audio's duration is known."""
    page.goto(base + path)
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1", timeout=15_000)


def test_page_shows_the_chapters_and_the_transcript(page: Any, base: str, pod: Path) -> None:
    open_episode(page, base)
    titles = page.locator("button.chapter .chapter-title").all_text_contents()
    assert len(titles) == 8
    assert titles == [c["title"] for c in seed_chapters(pod)]
    cues = read_webvtt((pod / f"{SEED.stem}.vtt").read_text("utf-8"))
    shown = page.locator(".cue").all_text_contents()
    assert shown == [cue.text for cue in cues]
    assert page.locator("audio").get_attribute("aria-label")
    duration = page.evaluate("document.querySelector('audio').duration")
    assert 640 < duration < 660


def test_a_chapter_click_jumps_to_its_start(page: Any, base: str, pod: Path) -> None:
    open_episode(page, base)
    page.locator("button.chapter").nth(4).click()
    now = page.evaluate("document.querySelector('audio').currentTime")
    start = seed_chapters(pod)[4]["startTime"]
    print(f"fifth chapter: currentTime {now} against start {start}")
    assert abs(now - start) < 0.1
    assert page.locator("button.chapter").nth(4).get_attribute("aria-current") == "true"
    page.locator("button.chapter").nth(1).focus()  # and from the keyboard
    page.keyboard.press("Enter")
    now = page.evaluate("document.querySelector('audio').currentTime")
    assert abs(now - seed_chapters(pod)[1]["startTime"]) < 0.1


def test_the_cue_being_spoken_is_highlighted(page: Any, base: str, pod: Path) -> None:
    open_episode(page, base)
    cues = read_webvtt((pod / f"{SEED.stem}.vtt").read_text("utf-8"))
    for index in (40, 7, len(cues) - 1):
        cue = cues[index]
        middle = (cue.start_ms + cue.end_ms) / 2000
        page.evaluate(f"document.querySelector('audio').currentTime = {middle}")
        page.wait_for_function(
            f"() => document.querySelectorAll('.cue')[{index}].classList.contains('current')"
        )
        lit = page.locator(".cue.current")
        assert lit.count() == 1 and lit.text_content() == cue.text
        assert lit.get_attribute("aria-current") == "true"
        page.wait_for_function(  # scrolled into view (smoothly: it may take a moment)
            "() => { const r = document.querySelector('.cue.current').getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= innerHeight; }"
        )


def test_a_script_in_the_title_is_only_text(browser: Any, base: str, dialogs: list[str]) -> None:
    # without the Content-Security-Policy: only the escaping stands between essay and script
    page = new_page(browser, dialogs, bypass_csp=True)
    page.goto(base + "/")
    assert SCRIPT_TITLE in page.locator(".card-title").all_text_contents()
    open_episode(page, base, "/_narrator/listen/xss.mp3")
    assert page.locator("h1").text_content() == SCRIPT_TITLE
    assert page.title() == SCRIPT_TITLE
    assert page.locator(".byline").text_content().startswith("<b>Eve</b> & co")
    assert page.evaluate("document.scripts.length") == 1
    page.wait_for_timeout(300)
    page.context.close()
    assert dialogs == []


def test_no_horizontal_scroll_on_a_phone(page: Any, base: str, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    for name, path in [("index", "/"), ("seed", SEED_PAGE), ("xss", "/_narrator/listen/xss.mp3")]:
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        print(f"{name}: scrollWidth {width} at 375")
        page.screenshot(path=tmp_path / f"{name}-375.png", full_page=True)
        assert width <= 375, name


def test_the_position_survives_a_reload(page: Any, base: str) -> None:
    open_episode(page, base)
    page.evaluate("document.querySelector('audio').currentTime = 123.4")
    page.wait_for_function("() => !document.querySelector('audio').seeking")
    page.reload()
    page.wait_for_function(
        "() => document.querySelector('audio').currentTime > 120", timeout=15_000
    )
    now = page.evaluate("document.querySelector('audio').currentTime")
    print(f"after a reload: currentTime {now} (set 123.4)")
    assert abs(now - 123.4) < 0.5
    assert page.locator(".cue.current").count() == 1
