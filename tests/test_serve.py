"""`narrator serve`: byte ranges as podcast apps use them, and nothing outside the folder."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from narrator.publish.serve import byte_range, make_server, serve_forever

DATA = bytes(range(256)) * 40  # 10240 bytes, each offset recognizable


def episodes(root: Path) -> Path:
    """ROOT/pod with an episode, a feed, a hidden file, a folder and two ways out."""
    folder = root / "pod"
    folder.mkdir()
    (folder / "episode.mp3").write_bytes(DATA)
    (folder / "feed.xml").write_text("<rss/>", encoding="utf-8")
    (folder / ".episode.mp3.partial").write_bytes(b"half")
    (folder / "sub").mkdir()
    (root / "secret.txt").write_text("outside", encoding="utf-8")
    (folder / "leak.mp3").symlink_to(root / "secret.txt")
    (folder / "up").symlink_to(root, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One server for the module, in a thread."""
    server = make_server(episodes(tmp_path_factory.mktemp("serve")), "127.0.0.1", 0)
    thread = threading.Thread(target=serve_forever, args=(server,), daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.shutdown()
    thread.join(timeout=5)


def request(
    address: tuple[str, int], path: str, method: str = "GET", **headers: str
) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection(*address, timeout=5)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_listens_on_loopback_only(server: tuple[str, int]) -> None:
    assert server[0] == "127.0.0.1" and server[1] > 0


def test_head_describes_the_whole_file(server: tuple[str, int]) -> None:
    response, body = request(server, "/episode.mp3", "HEAD")
    assert response.status == 200 and body == b""
    assert response.getheader("Content-Length") == str(len(DATA))
    assert response.getheader("Accept-Ranges") == "bytes"
    assert response.getheader("Content-Type") == "audio/mpeg"


def test_get_sends_the_file_with_its_type(server: tuple[str, int]) -> None:
    response, body = request(server, "/episode.mp3")
    assert response.status == 200 and body == DATA
    response, body = request(server, "/feed.xml")
    assert response.status == 200 and body == b"<rss/>"
    assert response.getheader("Content-Type") == "application/rss+xml"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=100-199", 100, 199), ("bytes=-10", 10230, 10239), ("bytes=10000-", 10000, 10239),
     ("bytes=10200-99999", 10200, 10239), ("bytes=-99999", 0, 10239)],
)  # fmt: skip
def test_ranges(server: tuple[str, int], header: str, first: int, last: int) -> None:
    response, body = request(server, "/episode.mp3", Range=header)
    assert response.status == 206
    assert body == DATA[first : last + 1]
    assert response.getheader("Content-Length") == str(last - first + 1)
    assert response.getheader("Content-Range") == f"bytes {first}-{last}/{len(DATA)}"
    assert response.getheader("Accept-Ranges") == "bytes"


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-20001", "bytes=-0"])
def test_unsatisfiable_range_is_416(server: tuple[str, int], header: str) -> None:
    response, _ = request(server, "/episode.mp3", Range=header)
    assert response.status == 416
    assert response.getheader("Content-Range") == f"bytes */{len(DATA)}"


def test_byte_range_ignores_what_it_may() -> None:
    for header in (None, "", "bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=-", "bytes=x-"):
        assert byte_range(header, 100) is None, header


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/../../../../etc/passwd",
        "//etc/passwd",
        "/%2Fetc%2Fpasswd",
        "/leak.mp3",  # a symlink out of the folder
        "/up/secret.txt",  # through a symlinked folder
        "/.episode.mp3.partial",  # hidden
        "/sub",  # a folder: no listings
        "/sub/",
        "/missing.mp3",
        "/episode.mp3%00.txt",
    ],
)
def test_nothing_outside_the_folder_is_served(server: tuple[str, int], path: str) -> None:
    response, body = request(server, path)
    assert response.status == 404
    assert b"outside" not in body and b"root:" not in body


def test_root_lists_the_servable_files(server: tuple[str, int]) -> None:
    response, body = request(server, "/")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    links = re.findall(r'<li><a href="/([^"]*)">', body.decode())
    assert links == ["episode.mp3", "feed.xml"]  # not an MP3 narrator can read: a file only


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_only_get_and_head(server: tuple[str, int], method: str) -> None:
    response, _ = request(server, "/episode.mp3", method)
    assert response.status == 405
    assert response.getheader("Allow") == "GET, HEAD"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_cli_serves_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "serve", str(episodes(tmp_path)), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response, body = request(("127.0.0.1", port), "/episode.mp3", Range="bytes=0-9")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
        assert response.status == 206 and body == DATA[:10]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/feed.xml" in out
    assert f"listen in a browser at http://127.0.0.1:{port}/\n" in out
    assert "Ctrl-C stops" in out
    assert "Traceback" not in err
