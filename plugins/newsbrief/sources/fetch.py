"""A guarded HTTP client for feeds and article pages: nothing a remote server does can hang or flood a run.

Why not feedparser's or trafilatura's own fetchers: they have no wall-clock deadline, no byte cap and
no address checks. Here every request has connect/read timeouts plus a total deadline (a server that
drips one byte a second still ends), a cap on decoded body bytes (gzip bombs included), a redirect cap,
conditional GET, and an SSRF guard.

SSRF guard: only http/https; the host is resolved with getaddrinfo and addresses that are loopback,
private, link-local, CGNAT, reserved, multicast or cloud metadata are refused unless the host or
network is allow-listed (`NEWSBRIEF_FETCH_ALLOW`, or `allow=`). The check runs inside the connection
itself (a custom httpcore network backend) and the socket is opened to the address just checked, so
each redirect hop is checked and a DNS answer cannot change between check and connect (no rebinding
window). Proxies from the environment are ignored for the same reason. DNS lookups run on a small
resolver pool with the connect timeout as deadline (getaddrinfo has none of its own that we control);
a lookup stuck past it is abandoned in its thread and the fetch fails as a DNS error.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from newsbrief.config.settings import DEFAULT_USER_AGENT
from newsbrief.config.settings import user_agent as configured_user_agent
from newsbrief.errors import InputError

USER_AGENT = DEFAULT_USER_AGENT
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_REDIRECTS = {301, 302, 303, 307, 308}

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(InputError):
    """A fetch that failed; `kind` is a short machine label (timeout, too_large, blocked, http_404, ...)."""

    def __init__(self, url: str, kind: str, reason: str, fix: str | None = None, *,
                 status: int | None = None, retry_after: float | None = None):
        self.url = url
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        super().__init__(url, reason, fix)


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    redirects: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


class AllowList:
    """Hosts and networks the SSRF guard lets through (tests, intranets): 'localhost', '10.0.0.0/8', '127.0.0.1'."""

    def __init__(self, entries: Iterable[str] = ()):
        self.hosts: set[str] = set()
        self.networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.rstrip("."))

    @classmethod
    def from_env(cls, extra: Iterable[str] = ()) -> AllowList:
        env = os.environ.get("NEWSBRIEF_FETCH_ALLOW", "")
        return cls([*env.split(","), *extra])

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        for net in self.networks:
            if ip.version == net.version and ip in net:
                if ip in METADATA_ADDRESSES and net.num_addresses > 1:
                    continue
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.hosts or self.networks)


NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(ip: IPAddress) -> list[tuple[str, ipaddress.IPv4Address]]:
    """IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64), with the form's name."""
    if ip.version != 6:
        return []
    found = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", server), ("Teredo", client)]
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 0xFFFF:
        found.append(("IPv4-compatible", low32))
    if any(ip in net for net in NAT64_PREFIXES):
        found.append(("NAT64", low32))
    return found


def refused_reason(ip: IPAddress) -> str | None:
    """Why an address must not be fetched from, or None if it is a public unicast address.

    IPv6 forms that embed an IPv4 address are judged by that address too (6to4 of 127.0.0.1 is loopback)."""
    for form, inner in embedded_ipv4(ip):
        why = refused_reason(inner)
        if why is not None:
            return f"{why} ({inner}) inside a {form} IPv6 address"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified or ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a non-public address"
    return None


_RESOLVER = ThreadPoolExecutor(max_workers=16, thread_name_prefix="resolve")


def _getaddrinfo(host: str, port: int, timeout: float) -> list[str]:
    """getaddrinfo with a deadline: the system resolver has none of ours, and a stuck lookup must not hang a run."""
    future = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        raise FetchError(host, "dns", f"DNS lookup of {host!r} took longer than {timeout:g} s",
                         "the resolver is slow or down; retried with back-off") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve_checked(host: str, port: int, allow: AllowList, timeout: float = 5.0) -> list[str]:
    """The addresses of `host` that may be connected to; raises FetchError when none may."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        infos = [str(literal)]
    else:
        try:
            infos = _getaddrinfo(host, port, timeout)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(host, "dns", f"cannot resolve host {host!r}: {exc}",
                             "check the URL's host name") from None
    if allow.allows_host(host):
        return infos
    allowed, refused = [], []
    for addr in infos:
        ip = ipaddress.ip_address(addr.split("%")[0])
        reason = None if allow.allows_ip(ip) else refused_reason(ip)
        (refused if reason else allowed).append((addr, reason))
    if not allowed:
        addr, reason = refused[0]
        raise FetchError(host, "blocked", f"refused: {host} resolves to {addr}, {reason}",
                         "add the host or network to NEWSBRIEF_FETCH_ALLOW if it is a trusted intranet source")
    return [addr for addr, _ in allowed]


_DEADLINE = threading.local()


def _remaining(timeout: float | None) -> float | None:
    """The socket timeout for one read/connect: never past the current request's total deadline."""
    deadline = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("total deadline exceeded")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write is bounded by the request's total deadline (header drip)."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks and connects to the checked address in one step, for every connection."""

    def __init__(self, allow: AllowList, dns_timeout: float):
        self._allow = allow
        self._dns_timeout = dns_timeout
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = resolve_checked(host, port, self._allow, timeout or self._dns_timeout)
        last: Exception | None = None
        for addr in addresses:
            try:
                return _DeadlineStream(self._inner.connect_tcp(
                    addr, port, timeout=_remaining(timeout), local_address=local_address,
                    socket_options=socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedClient:
    """One shared, thread-safe client; use as a context manager or call close()."""

    def __init__(self, limits: FetchLimits | None = None, *, allow: Iterable[str] | AllowList = (),
                 user_agent: str | None = None, max_connections: int = 32):
        self.limits = limits or FetchLimits()
        self.allow = allow if isinstance(allow, AllowList) else AllowList.from_env(allow)
        transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=max_connections,
                                                            max_keepalive_connections=max_connections))
        transport._pool._network_backend = _GuardedBackend(self.allow, self.limits.connect_timeout)  # the only way httpx lets us pin
        self._client = httpx.Client(
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": user_agent or configured_user_agent(), "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(self.limits.read_timeout, connect=self.limits.connect_timeout),
        )

    def __enter__(self) -> GuardedClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            accept: str | None = None, max_bytes: int | None = None,
            total_timeout: float | None = None) -> FetchResult:
        """GET with redirects followed by hand (each hop re-checked); raises FetchError with a reason."""
        limits = self.limits
        if total_timeout:
            limits = FetchLimits(limits.connect_timeout, min(limits.read_timeout, total_timeout), total_timeout,
                                 limits.max_bytes, limits.max_redirects)
        cap = max_bytes or limits.max_bytes
        deadline = time.monotonic() + limits.total_timeout
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        current, hops = url, []
        _DEADLINE.at = deadline
        try:
            return self._get(url, current, hops, headers, limits, cap, deadline)
        finally:
            _DEADLINE.at = None

    def _get(self, url, current, hops, headers, limits, cap, deadline) -> FetchResult:
        while True:
            if time.monotonic() > deadline:
                raise _deadline(url, limits)
            _check_scheme(url, current)
            try:
                with self._client.stream("GET", current, headers=headers) as resp:
                    if resp.status_code in _REDIRECTS and "location" in resp.headers:
                        target = urljoin(current, resp.headers["location"])
                        if len(hops) >= limits.max_redirects:
                            raise FetchError(url, "too_many_redirects",
                                             f"more than {limits.max_redirects} redirects (last to {target})",
                                             "point the feed at its final URL")
                        hops.append(target)
                        current = target
                        continue
                    result = FetchResult(url=url, final_url=current, status=resp.status_code,
                                         headers={k.lower(): v for k, v in resp.headers.items()}, redirects=hops)
                    if resp.status_code == 304:
                        return result
                    if resp.status_code >= 400:
                        raise _status_error(url, resp)
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > cap and "content-encoding" not in resp.headers:
                        raise _too_large(url, cap, f"declared {int(declared):,} bytes")
                    chunks, size = [], 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > cap:
                            raise _too_large(url, cap, "body kept coming")
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise _deadline(url, limits)
                    result.body = b"".join(chunks)
                    return result
            except FetchError as exc:
                if exc.url == url:
                    raise
                reason = exc.reason if current == url else f"{exc.reason} (after redirect to {current})"
                raise FetchError(url, exc.kind, reason, exc.fix, status=exc.status,
                                 retry_after=exc.retry_after) from None
            except httpx.TimeoutException as exc:
                if time.monotonic() >= deadline - 0.05:
                    raise _deadline(url, limits) from None
                phase = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for data"
                raise FetchError(url, "timeout", f"timed out {phase} ({_timeout_of(exc, limits)} s)",
                                 "the server is slow or down; it is retried with back-off") from None
            except httpx.DecodingError as exc:
                raise FetchError(url, "bad_encoding", f"cannot decode the response body: {exc}") from None
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                raise FetchError(url, "connect", f"connection failed: {type(exc).__name__}: {exc}",
                                 "check the URL; the server may be down") from None


def _check_scheme(original: str, url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise FetchError(original, "bad_url", f"not a valid URL: {url!r}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(original, "blocked", f"refused: only http and https are fetched, not {url!r}",
                         "use an http(s) URL")
    if not parts.hostname:
        raise FetchError(original, "bad_url", f"URL has no host: {url!r}")


def _status_error(url: str, resp: httpx.Response) -> FetchError:
    retry_after = None
    raw = resp.headers.get("retry-after", "").strip()
    if raw.isdigit():
        retry_after = float(raw)
    fix = {404: "the feed moved or was removed: update its URL", 410: "the feed is gone: remove it",
           401: "the feed needs credentials", 403: "the server refuses us"}.get(resp.status_code,
                                                                             "retried with back-off")
    return FetchError(url, f"http_{resp.status_code}", f"HTTP {resp.status_code} {resp.reason_phrase}".strip(),
                      fix, status=resp.status_code, retry_after=retry_after)


def _too_large(url: str, cap: int, detail: str) -> FetchError:
    return FetchError(url, "too_large", f"response larger than the {cap:,}-byte cap ({detail})",
                      "raise max_bytes for this feed if it is genuine")


def _deadline(url: str, limits: FetchLimits) -> FetchError:
    return FetchError(url, "timeout", f"total deadline of {limits.total_timeout:g} s exceeded (connect to last "
                      "byte; the server is sending too slowly)", "retried with back-off")


def _timeout_of(exc: Exception, limits: FetchLimits) -> str:
    return f"{limits.connect_timeout:g}" if isinstance(exc, httpx.ConnectTimeout) else f"{limits.read_timeout:g}"
