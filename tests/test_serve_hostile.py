"""`narrator serve` and `narrator feed` under hostile clients and odd folders."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from narrator.publish.serve import make_server, serve_forever

DATA = bytes(range(256)) * 40


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pod = tmp_path / "pod"
    (pod / "sub").mkdir(parents=True)
    (pod / "episode.mp3").write_bytes(DATA)
    (pod / "sub" / "inner.txt").write_text("inner", encoding="utf-8")
    return pod


def _serve(folder: Path, host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    server = make_server(folder, host, 0)
    thread = threading.Thread(target=serve_forever, args=(server,), daemon=True)
    thread.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def server(folder: Path) -> Iterator[tuple[str, int]]:
    yield from _serve(folder)


def request(address: tuple[str, int], path: str, **headers: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_only_the_listed_files_are_served(server: tuple[str, int]) -> None:
    assert request(server, "/episode.mp3")[0] == 200
    status, body = request(server, "/sub/inner.txt")
    assert status == 404 and b"inner" not in body


def test_a_range_of_thousands_of_digits_is_416(server: tuple[str, int]) -> None:
    assert request(server, "/episode.mp3", Range="bytes=" + "9" * 5000 + "-")[0] == 416
    status, body = request(server, "/episode.mp3", Range="bytes=0-" + "9" * 5000)
    assert status == 206 and body == DATA  # an end past the file ends at the file's end
    status, body = request(server, "/episode.mp3", Range="bytes=-" + "9" * 5000)
    assert status == 206 and body == DATA


@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "192.168.1.9"])
def test_a_loopback_server_refuses_other_host_names(server: tuple[str, int], host: str) -> None:
    # a DNS-rebinding page reaches 127.0.0.1 under its own name; a browser sends that name
    status, body = request(server, "/episode.mp3", Host=host)
    assert status == 403 and DATA not in body
    assert request(server, "/", Host=host)[0] == 403


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "LOCALHOST:{port}", "127.0.0.1:{port}"])
def test_a_loopback_server_answers_its_own_names(server: tuple[str, int], host: str) -> None:
    assert request(server, "/episode.mp3", Host=host.format(port=server[1]))[0] == 200


def test_a_network_server_answers_any_host_name(folder: Path) -> None:
    for address in _serve(folder, "0.0.0.0"):
        assert request(("127.0.0.1", address[1]), "/episode.mp3", Host="192.168.1.9:80")[0] == 200


def test_two_hundred_clients_at_once_are_all_answered(server: tuple[str, int]) -> None:
    """200 clients connect at once, ask, read, and keep their connections open
    (keep-alive) until all are answered: a few threads must serve them all."""
    clients = 200
    start = threading.Barrier(clients, timeout=30)
    answered = threading.Semaphore(0)
    release = threading.Event()

    def client() -> float:
        connection = http.client.HTTPConnection(*server, timeout=30)
        start.wait()
        began = time.monotonic()
        try:
            connection.request("GET", "/episode.mp3")
            response = connection.getresponse()
            assert response.status == 200 and response.read() == DATA
            return time.monotonic() - began
        finally:
            answered.release()
            release.wait(timeout=30)
            connection.close()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(client) for _ in range(clients)]
        deadline = time.monotonic() + 30
        for _ in range(clients):
            if not answered.acquire(timeout=max(0.1, deadline - time.monotonic())):
                break
        serving = [t for t in threading.enumerate() if t.name.startswith("narrator-serve")]
        release.set()
        took = sorted(f.result(timeout=40) for f in futures)
    assert took[-1] < 10, took[-5:]
    assert 0 < len(serving) <= 64


def test_request_lines_are_logged_without_control_characters(folder: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "narrator", "serve", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = ""
        while "http://" not in line:  # "listen in a browser at http://127.0.0.1:PORT/"
            line = proc.stdout.readline().decode()
            assert line, "serve printed no address"
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"GET /\x1b]0;owned\x07\x1b[2J\r HTTP/1.0\r\n\r\n")
            while raw.recv(65536):
                pass
        time.sleep(0.5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert b"\\x1b]0;owned\\x07\\x1b[2J\\x0d" in err
    assert not any(byte < 0x20 and byte != 0x0A for byte in err)


def test_feed_skips_what_is_not_a_regular_file(tmp_path: Path) -> None:
    from test_feed import tiny_mp3

    from narrator.publish.feed import write_feed

    folder = tmp_path / "pod"
    folder.mkdir()
    tiny_mp3(folder / "real.mp3")
    os.mkfifo(folder / "pipe.mp3")
    (folder / "folder.mp3").mkdir()
    result: list[object] = []
    worker = threading.Thread(
        target=lambda: result.append(write_feed(folder, "http://example.com")), daemon=True
    )
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # unblock the reader so the test run can end
        with open(folder / "pipe.mp3", "wb"):
            pass
        pytest.fail("narrator feed hung on a FIFO named .mp3")
    (feed,) = result
    assert [e.name for e in feed.episodes] == ["real.mp3"]
    assert any("pipe.mp3" in reason for reason in feed.skipped)
