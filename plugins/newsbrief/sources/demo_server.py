"""Serve the bundled demo feeds (demo/feeds/) on loopback, so `make demo` ingests feeds with no internet.

    python -m newsbrief.sources.demo_server [--port 8765] [--dir demo/feeds]

Static files with Last-Modified, so a second ingestion run gets 304 Not Modified as from a real
server. It binds 127.0.0.1 only; the fetcher refuses loopback unless allow-listed, so run the
pipeline with NEWSBRIEF_FETCH_ALLOW=127.0.0.1 (the Makefile's demo target does).
"""

from __future__ import annotations

import argparse
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from newsbrief.config.settings import PROJECT_ROOT

DEFAULT_PORT = 8765
DEFAULT_DIR = PROJECT_ROOT / "demo" / "feeds"


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".xml": "application/rss+xml", ".atom": "application/atom+xml"}

    def log_message(self, fmt, *args):
        pass


def make_server(directory: str | Path = DEFAULT_DIR, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    directory = Path(directory)
    if not directory.is_dir():
        raise SystemExit(f"demo feeds folder not found: {directory} (fix: run from a newsbrief checkout)")
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Handler, directory=str(directory)))
    server.daemon_threads = True
    return server


def serve_in_background(directory: str | Path = DEFAULT_DIR, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """Start serving on a daemon thread; call .shutdown() to stop."""
    server = make_server(directory, port)
    threading.Thread(target=server.serve_forever, daemon=True, name="demo-feeds").start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dir", default=str(DEFAULT_DIR))
    args = parser.parse_args(argv)
    server = make_server(args.dir, args.port)
    files = sorted(p.name for p in Path(args.dir).iterdir() if p.suffix in (".xml", ".atom", ".rss"))
    print(f"serving {len(files)} demo feeds from {args.dir} on http://127.0.0.1:{args.port}/: {', '.join(files)}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
