"""`narrator serve`: a folder of episodes over HTTP, read-only, for a phone on the network.

Podcast apps stream and seek with byte ranges, so one range per request is honoured
(206, or 416 past the end); a request for several ranges gets the whole file, which
HTTP allows. Only regular files inside the folder are served: the request path is
decoded, resolved (following symlinks) and refused with 404 unless it stays inside.
Hidden files (any path part starting with ".", such as a build's partial MP3) and
folders are 404 too.

A browser gets listening pages (pages.py): "/" lists the episodes and every servable
file, and /_narrator/listen/NAME.mp3 plays one. Their stylesheet and script are the
package's own files under /_narrator/ (which hides a subfolder of that name), so the
pages need nothing from elsewhere and are sent with a Content-Security-Policy that
allows only this server's files: nothing from an essay can run as script.
"""

from __future__ import annotations

import io
import os
import re
import socket
import sys
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from narrator import __version__
from narrator.errors import InputError, OutputError
from narrator.publish import pages
from narrator.publish.episodes import Shelf
from narrator.text.source import readable_name

CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".xml": "application/rss+xml",
    ".json": "application/json",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # a page changes with the folder, an asset with narrator
}
ASSET_TYPES = {
    pages.STYLESHEET: "text/css; charset=utf-8",
    pages.SCRIPT: "text/javascript; charset=utf-8",
}
_WEB = Path(__file__).parent / "web"
_CHUNK = 64 * 1024
_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


class Unsatisfiable(Exception):
    """A Range header that asks only for bytes past the end of the file."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte a Range header asks for, or None for the whole file.

    None also for another unit, several ranges or bad syntax: RFC 9110 lets a server
    ignore such a header. Raises Unsatisfiable when no asked-for byte exists.
    """
    match = _RANGE.fullmatch(header or "")
    if not match or not (match[1] or match[2]):
        return None
    if not match[1]:  # bytes=-N: the last N bytes
        count = int(match[2])
        if count == 0 or size == 0:
            raise Unsatisfiable
        return max(size - count, 0), size - 1
    first, last = int(match[1]), int(match[2]) if match[2] else size - 1
    if match[2] and last < first:
        return None
    if first >= size:
        raise Unsatisfiable
    return first, min(last, size - 1)


def _parts(target: str) -> list[str]:
    """The decoded parts of a request target's path (query and fragment dropped)."""
    path = unquote(target.split("?", 1)[0].split("#", 1)[0])
    return [part for part in path.split("/") if part]


def _servable(root: Path, parts: list[str]) -> Path | None:
    """The regular file that `parts` names inside `root` (resolved), else None."""
    if any(part.startswith(".") for part in parts):
        return None
    try:
        found = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte
        return None
    return found if found.is_relative_to(root) and found.is_file() else None


def listing(root: Path) -> list[str]:
    """The names of the servable files at the top of `root`."""
    return sorted(p.name for p in root.iterdir() if _servable(root, [p.name]) is not None)


def _open(path: Path | None) -> io.BufferedReader | None:
    """`path` opened for reading, or None when there is none or it is unreadable."""
    try:
        return path.open("rb") if path else None
    except OSError:
        return None


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


class _Handler(BaseHTTPRequestHandler):
    server_version = f"narrator/{__version__}"
    protocol_version = "HTTP/1.1"  # keep-alive: players send many range requests
    timeout = 60  # seconds an idle connection may hold its thread

    def __init__(self, *args: Any, root: Path, shelf: Shelf, **kwargs: Any) -> None:
        self.root = root  # set first: the base class handles the request in __init__
        self.shelf = shelf
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _not_allowed(self) -> None:
        self._reply(405, {"Allow": "GET, HEAD"}, send_body=True)

    # unknown methods get the base class's 501
    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _serve(self, send_body: bool) -> None:
        parts = _parts(self.path)
        try:
            if not parts:
                self._send_page(self._index(), send_body)
                return
            if parts[0] == pages.OWN:
                self._send_own(parts[1:], send_body)
                return
            file = _open(_servable(self.root, parts))
            if file is None:
                self._reply(404, {}, send_body)
                return
            with file:
                self._send_file(file, send_body)
        except (ConnectionError, TimeoutError):  # the player hung up, as they do when seeking
            self.close_connection = True

    def _index(self) -> str:
        names = listing(self.root)
        episodes = self.shelf.episodes([n for n in names if n.lower().endswith(".mp3")])
        return pages.index_page(readable_name(self.root.name, "Essays"), episodes, names)

    def _send_own(self, parts: list[str], send_body: bool) -> None:
        """/_narrator/...: an episode's page, or the stylesheet or the script."""
        if len(parts) == 2 and parts[0] == pages.LISTEN:
            episode = self.shelf.episode(parts[1])
            if episode is not None:
                page = pages.episode_page(
                    episode, self.shelf.chapters(episode), self.shelf.cues(episode)
                )
                self._send_page(page, send_body)
                return
        elif len(parts) == 1 and parts[0] in ASSET_TYPES:
            body = (_WEB / parts[0]).read_bytes()
            headers = {"Content-Type": ASSET_TYPES[parts[0]], **PAGE_HEADERS}
            self._reply(200, headers, send_body, body)
            return
        self._reply(404, {}, send_body)

    def _send_page(self, page: str, send_body: bool) -> None:
        headers = {"Content-Type": "text/html; charset=utf-8", **PAGE_HEADERS}
        self._reply(200, headers, send_body, page.encode())

    def _send_file(self, file: io.BufferedReader, send_body: bool) -> None:
        size = os.fstat(file.fileno()).st_size
        try:
            span = byte_range(self.headers.get("Range"), size)
        except Unsatisfiable:
            headers = {"Accept-Ranges": "bytes", "Content-Range": f"bytes */{size}"}
            self._reply(416, headers, send_body)
            return
        first, last = span or (0, size - 1)
        self.send_response(206 if span else 200)
        self.send_header("Content-Type", content_type(Path(file.name)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(last - first + 1))
        if span:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if not send_body:
            return
        file.seek(first)
        left = last - first + 1
        while left > 0:
            chunk = file.read(min(_CHUNK, left))
            if not chunk:  # truncated meanwhile: stop (short body) rather than loop
                self.close_connection = True
                return
            self.wfile.write(chunk)
            left -= len(chunk)

    def _reply(
        self, code: int, headers: dict[str, str], send_body: bool, body: bytes | None = None
    ) -> None:
        """A small response; errors close the connection (a refused request may have
        sent a body this server never reads)."""
        if body is None:
            body = f"{code} {self.responses[code][0]}\n".encode()
            headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if code >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """One short line per request on stderr: who, the request line, the status."""
        print(f"{self.client_address[0]} {format % args}", file=sys.stderr, flush=True)


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for `folder`, listening but not yet serving; port 0 picks a free port."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"{folder} {what}", "pass the folder your episodes are in")
    root = folder.resolve()
    shelf = Shelf(root, lambda name: _servable(root, [name]))
    handler = partial(_Handler, root=root, shelf=shelf)
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise OutputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            "choose another --port (0 picks a free one) or --host",
        ) from None


def serve_forever(server: ThreadingHTTPServer) -> None:
    """Serve until Ctrl-C or `server.shutdown()`, then close the listening socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def lan_address() -> str:
    """This machine's address on its network, best guess: the one it would send from
    toward a private address (connecting a UDP socket sends nothing); else loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 1))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def server_url(server: ThreadingHTTPServer) -> str:
    """Where the server is reachable; for one on every interface, at the LAN address."""
    address, port = server.server_address[:2]
    host = address.decode() if isinstance(address, bytes) else address
    if host in ("0.0.0.0", ""):
        host = lan_address()
    return f"http://{host}:{port}"


def qr_code(text: str) -> str | None:
    """`text` as a QR code drawn with block characters, or None without `qrcode`."""
    try:
        import qrcode
    except ImportError:
        return None
    code = qrcode.QRCode()
    code.add_data(text)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)  # light modules on a dark terminal, as on a tty
    return out.getvalue()
