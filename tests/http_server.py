"""A real threaded HTTP server on 127.0.0.1 for fetch/ingest tests: files, validators, failures on demand.

Routes are registered per path: static bodies (with optional ETag/Last-Modified honoured for 304s,
gzip, extra headers) or handler functions for the misbehaving cases (slow drip, header drip, hang,
endless body, gzip bomb, redirects, endless redirects). Slow handlers watch `stopping` so shutting the server down never waits on them.
"""

from __future__ import annotations

import gzip as gzip_mod
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """Clients that give up (timeouts, byte caps) reset connections on purpose: not an error here."""


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


class LocalServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                server.hits[path] += 1
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(path)
                if route is None:
                    return self._send(404, b"not found", {"Content-Type": "text/plain"})
                if route.handler is not None:
                    return route.handler(self)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    return self._send(304, b"", {"ETag": route.etag})
                if (route.last_modified and not route.etag
                        and self.headers.get("If-Modified-Since") == route.last_modified):
                    return self._send(304, b"", {"Last-Modified": route.last_modified})
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                body = route.body
                if route.gzip:
                    body = gzip_mod.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self._send(route.status, body, headers)

            def _send(self, status, body, headers):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

        self._httpd = _QuietServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **kwargs) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        kwargs.setdefault("headers", {}).setdefault("Content-Type", "application/xml")
        self.routes[path] = Route(body=body, **kwargs)
        return self.url(path)

    def add_handler(self, path: str, handler: Callable[[BaseHTTPRequestHandler], None]) -> str:
        self.routes[path] = Route(handler=handler)
        return self.url(path)

    # Misbehaving servers -------------------------------------------------------------------------

    def slow_drip(self, path: str, *, interval: float = 0.2, chunk: bytes = b"<") -> str:
        """Headers at once, then one byte every `interval` seconds for ever: only a total deadline ends it."""
        def handler(h):
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Connection", "close")
            h.end_headers()
            try:
                while not self.stopping.wait(interval):
                    h.wfile.write(chunk)
                    h.wfile.flush()
            except OSError:
                pass
            h.close_connection = True
        return self.add_handler(path, handler)

    def hang(self, path: str, *, seconds: float = 30.0) -> str:
        """Accepts the connection and never answers within `seconds`: a read timeout."""
        def handler(h):
            self.stopping.wait(seconds)
            h.close_connection = True
        return self.add_handler(path, handler)

    def endless(self, path: str, *, declare_length: bool = False, chunk_size: int = 64 * 1024) -> str:
        """A body that never ends (or declares a huge Content-Length): the byte cap must stop it."""
        def handler(h):
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            if declare_length:
                h.send_header("Content-Length", str(10 * 1024**3))
            h.send_header("Connection", "close")
            h.end_headers()
            block = b"<rss>" + b" " * chunk_size
            try:
                while not self.stopping.is_set():
                    h.wfile.write(block)
            except OSError:
                pass
            h.close_connection = True
        return self.add_handler(path, handler)

    def header_drip(self, path: str, *, interval: float = 0.1, seconds: float = 10.0) -> str:
        """A status line, then one header byte every `interval` seconds for `seconds`: each read succeeds, so
        only a connect-to-last-byte deadline ends it sooner (and a client without one fails, not hangs)."""
        def handler(h):
            end = time.monotonic() + seconds
            try:
                h.wfile.write(b"HTTP/1.1 200 OK\r\n")
                while not self.stopping.wait(interval) and time.monotonic() < end:
                    h.wfile.write(b"X")
                    h.wfile.flush()
            except OSError:
                pass
            h.close_connection = True
        return self.add_handler(path, handler)

    def gzip_bomb(self, path: str, *, decoded_bytes: int = 50 * 1024 * 1024) -> str:
        """A small gzip body (about 1/1000 of `decoded_bytes`) that inflates to `decoded_bytes` of feed.

        Compressed once, here, not per request: compressing 50 MB on every request made the server,
        not the client's cap, decide the outcome on a loaded machine."""
        body = _bomb(decoded_bytes)
        return self.add(path, body, headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})

    def redirect_forever(self, path: str, *, status: int = 302) -> str:
        """`path` redirects to `path`/1, which redirects to `path`/2, ...: never the same URL twice."""
        def handler(h):
            target = h.path.split("?")[0]
            head, _, tail = target.rpartition("/")
            nxt = f"{head}/{int(tail) + 1}" if tail.isdigit() and target != path else f"{target}/1"
            self.routes.setdefault(nxt, Route(handler=handler))
            h.send_response(status)
            h.send_header("Location", self.url(nxt))
            h.send_header("Content-Length", "0")
            h.end_headers()
        return self.add_handler(path, handler)

    def redirect(self, path: str, to: str, *, status: int = 302) -> str:
        def handler(h):
            h.send_response(status)
            h.send_header("Location", to)
            h.send_header("Content-Length", "0")
            h.end_headers()
        return self.add_handler(path, handler)


_BOMBS: dict[int, bytes] = {}


def _bomb(decoded_bytes: int) -> bytes:
    if decoded_bytes not in _BOMBS:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
        block = b" " * (1024 * 1024)
        parts = [packer.compress(b"<rss>")]
        parts += [packer.compress(block) for _ in range(decoded_bytes // len(block))]
        _BOMBS[decoded_bytes] = b"".join(parts) + packer.flush()
    return _BOMBS[decoded_bytes]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
