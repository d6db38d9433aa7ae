"""feedparser in worker processes: parsing is pure Python and holds the GIL, so threads cannot share it out.

Why fresh interpreters (`python -c` children on pipes) and not a forked pool: ingestion runs inside
Airflow/Celery workers that have threads of their own, and a fork while another thread holds a lock
(logging, the import lock, a DB driver's) can leave the child stuck for ever. A fresh interpreter
imports the parser itself (~0.2 s of CPU, in parallel with the fetches) and shares nothing.

Workers start lazily: the first when a feed needs parsing (a run where every feed answers 304 starts
none), each further one when a parse has waited GROW_AFTER for a busy worker. Each parse has a deadline
(`PARSE_DEADLINE`): a worker still busy past it is killed and replaced, the feed reported as an
InputError naming it, and the other feeds go on; a worker that dies (a feed that exhausts memory) is
replaced the same way. Bytes go to the worker and the small `ParsedFeed` (entries as plain text) comes
back, never feedparser's own result dicts. A worker whose parent has died exits at its next read (EOF).

Size: `NEWSBRIEF_PARSE_WORKERS` (default one per core; 0 parses in-process, without a deadline).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import newsbrief
from newsbrief.config.settings import parse_workers as configured_parse_workers
from newsbrief.errors import InputError
from newsbrief.sources.feeds import ParsedFeed, parse_feed

log = logging.getLogger(__name__)

PARSE_DEADLINE = 60.0
START_TIMEOUT = 60.0
GROW_AFTER = 0.25
_HEADER = struct.Struct("!Q")
_BOOT = "from newsbrief.sources.parse_pool import serve; serve()"
_PACKAGE_ROOT = str(Path(newsbrief.__file__).resolve().parents[1])


class _WorkerGone(Exception):
    """The worker closed its pipe (it died) or did not answer in time; it has been stopped."""


class _Worker:
    """One child interpreter, used by one thread at a time (the pool hands it out)."""

    def __init__(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen([sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, close_fds=True)
        self._out = self.proc.stdout.fileno()
        self._poll = select.poll()  # not select(): a busy worker process may hand out fd numbers past 1024
        self._poll.register(self._out, select.POLLIN)
        try:
            ready = self._receive(time.monotonic() + START_TIMEOUT)
        except _WorkerGone:
            ready = None
        if ready != "ready":
            self.stop(kill=True)
            raise RuntimeError("the feed parser's worker process did not start (see its error output above)")

    def parse(self, body: bytes, url: str, kwargs: dict, deadline: float) -> tuple:
        message = pickle.dumps((body, url, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(_HEADER.pack(len(message)) + message)
            self.proc.stdin.flush()
        except OSError:
            self.stop(kill=True)
            raise _WorkerGone("died") from None
        return self._receive(time.monotonic() + deadline)

    def _receive(self, until: float):
        header = self._read(_HEADER.size, until)
        return pickle.loads(self._read(_HEADER.unpack(header)[0], until))

    def _read(self, size: int, until: float) -> bytes:
        chunks, got = [], 0
        while got < size:
            left = until - time.monotonic()
            if left <= 0 or not self._poll.poll(left * 1000):
                self.stop(kill=True)
                raise _WorkerGone("deadline")
            chunk = os.read(self._out, min(size - got, 1 << 20))
            if not chunk:
                self.stop(kill=True)
                raise _WorkerGone("died")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def stop(self, kill: bool = False) -> None:
        """Kill it (a busy or stuck worker), or close its input so an idle one exits by itself; then reap it."""
        if kill and self.proc.poll() is None:
            self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ParserPool:
    """`parse` has parse_feed's signature and result and is thread-safe. Use as a context manager.

    `workers`: processes at most (None: `NEWSBRIEF_PARSE_WORKERS`; 0: in-process); `most` caps it
    (the number of feeds to parse, so two feeds never start eight workers)."""

    def __init__(self, workers: int | None = None, *, most: int | None = None, deadline: float = PARSE_DEADLINE):
        size = configured_parse_workers() if workers is None else max(0, workers)
        self.size = min(size, most) if most is not None else size
        self.deadline = deadline
        self.started = 0
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._live: list[_Worker] = []
        self._starting = 0
        self._ready_at = 0.0
        self._lock = threading.Lock()
        self._closed = False

    def parse(self, body: bytes, *, url: str, **kwargs) -> ParsedFeed:
        if self.size == 0:
            return parse_feed(body, url=url, **kwargs)
        worker = self._checkout()
        try:
            status, value = worker.parse(body, url, kwargs, self.deadline)
        except _WorkerGone as gone:
            with self._lock:
                if worker in self._live:
                    self._live.remove(worker)
            if str(gone) == "deadline":
                log.warning("feed %s: the parser took longer than %g s; its worker was killed", url, self.deadline)
                raise InputError(url, f"the feed parser took longer than {self.deadline:g} s on this feed "
                                 "(its worker process was stopped; a hostile or broken feed?)",
                                 "open the feed in a feed validator; if it is broken, ask the publisher to fix "
                                 "it or set 'enabled: false' for it in feeds.yaml") from None
            raise InputError(url, "the feed parser's worker process died on this feed (out of memory?)",
                             "check the feed's size, or lower its max_bytes in feeds.yaml") from None
        self._idle.put(worker)
        if status == "bug":
            raise RuntimeError(value)
        if status == "error":
            raise InputError(*value)
        return value

    def _checkout(self) -> _Worker:
        """An idle worker; else the first one started; else, while fewer than `size` are alive, another one
        once a parse has waited GROW_AFTER for a busy worker (one start at a time: a few small parses, such as
        an hourly run's failing feeds, are done by one worker before a second would be ready)."""
        waiting_since = time.monotonic()
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                waited = time.monotonic() - max(waiting_since, self._ready_at)
                start = (not self._closed and len(self._live) + self._starting < self.size
                         and (not self._live and not self._starting
                              or not self._starting and waited >= GROW_AFTER))
                self._starting += start
            if start:
                break
            if self._closed:
                raise RuntimeError("the feed parser pool is closed")
            try:
                return self._idle.get(timeout=GROW_AFTER / 4)
            except queue.Empty:
                continue
        try:
            worker = _Worker()
        finally:
            with self._lock:
                self._starting -= 1
        with self._lock:
            self._live.append(worker)
            self._ready_at = time.monotonic()
            self.started += 1
        return worker

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._live = self._live, []
        for worker in workers:
            worker.stop()

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve() -> None:
    """A worker's loop: read (body, url, kwargs), answer ('ok', ParsedFeed) or ('error', InputError fields)."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer

    def send(value) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(data)) + data)
        out.flush()

    send("ready")
    while True:
        header = inp.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        body, url, kwargs = pickle.loads(inp.read(_HEADER.unpack(header)[0]))
        try:
            send(("ok", parse_feed(body, url=url, **kwargs)))
        except InputError as exc:
            send(("error", (exc.source, exc.reason, exc.fix)))
        except Exception as exc:  # noqa: BLE001 - a bug on one feed's data is reported as in-process, not a dead worker
            send(("bug", f"{type(exc).__name__}: {exc}"))
