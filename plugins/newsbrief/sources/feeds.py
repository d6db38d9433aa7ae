"""Feeds: the `feeds.yaml` declaration (validated with line numbers) and feed bytes parsed into entries.

Parsing goes through feedparser (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, CDF, any encoding it can detect),
but only after `check_xml_safety` has refused entity tricks: external entities (SYSTEM/PUBLIC, which
could read files or reach the network) and entity expansion beyond a small budget (billion laughs,
quadratic blow-up). Simple internal entities, which a few real feeds use, still pass. feedparser is
handed a byte stream, never a string: a string starting with 'http' would make it fetch by itself.
Plain RSS 2.0 is read by `fastfeed` first (the same entries at a fraction of feedparser's CPU); it
hands anything unusual back, and the safety check runs before either.

feedparser's URI resolution is memoised here (`cache_uri_resolution`, applied on import): it re-resolves
the current xml:base against itself at every start tag, the same few (base, uri) pairs thousands of
times a feed, which was ~1/4 of its CPU. Both functions are pure (str in, str out, reading only the
constant ACCEPTABLE_URI_SCHEMES), so a cache cannot change a result; tests/sources/test_feedparser_uri_cache.py
checks that over the shared feeds and feedparser's corpus.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from newsbrief.config.yamlconf import Checker, load_yaml
from newsbrief.errors import InputError
from newsbrief.sources import fastfeed
from newsbrief.sources.extract import feed_content_text, html_to_text, repeated_blocks
from newsbrief.sources.urls import canonical_url

DEFAULT_MAX_ENTRIES = 50
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_ENTITY_EXPANSION = 256 * 1024
_FEED_KEYS = {"url", "name", "topics", "language", "enabled", "max_entries", "max_bytes", "fetch_pages", "timeout"}
_DEFAULT_KEYS = {"max_entries", "max_bytes", "fetch_pages", "timeout", "language", "enabled"}
_ENTITY_DECL = re.compile(
    r"""<!ENTITY\s+(%\s+)?([^\s"'>]+)\s+(?:(SYSTEM|PUBLIC)\b|"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


def _memoised(fn):
    cached = functools.lru_cache(maxsize=8192)(fn)

    @functools.wraps(fn)
    def call(*args):
        try:
            return cached(*args)
        except TypeError:  # an unhashable argument: feedparser's own behaviour, uncached
            return fn(*args)

    call.uncached = fn
    return call


def cache_uri_resolution() -> None:
    """Memoise feedparser's `_urljoin` and `make_safe_absolute_uri` in every module that imported them."""
    from feedparser import api, mixin, sanitizer, urls
    from feedparser.namespaces import _base

    if hasattr(urls._urljoin, "uncached"):
        return
    join, safe = _memoised(urls._urljoin), _memoised(urls.make_safe_absolute_uri)
    urls._urljoin = mixin._urljoin = join
    for module in (urls, mixin, api, sanitizer, _base):
        module.make_safe_absolute_uri = safe


cache_uri_resolution()


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str
    topics: tuple[str, ...] = ()
    language: str | None = None
    enabled: bool = True
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_bytes: int = DEFAULT_MAX_BYTES
    fetch_pages: bool = True
    timeout: float | None = None


def _clustering_default(name: str):
    """A default of newsbrief.stories.clustering, imported on use: it pulls in numpy, which the parser
    worker processes (which import this module) never need; ~0.1 s off each worker's start."""
    from newsbrief.stories import clustering

    return getattr(clustering, name)


@dataclass(frozen=True)
class ClusterSettings:
    """How near-duplicate stories are grouped (feeds.yaml `clustering:`); see newsbrief.stories.clustering."""

    threshold: float = field(default_factory=lambda: _clustering_default("DEFAULT_THRESHOLD"))
    title_threshold: float = field(default_factory=lambda: _clustering_default("TITLE_THRESHOLD"))
    window_hours: float = 72.0


@dataclass(frozen=True)
class FeedsFile:
    feeds: list[FeedConfig]
    clustering: ClusterSettings


@dataclass
class FeedEntry:
    url: str | None
    title: str
    author: str | None
    published_at: datetime | None
    summary: str
    content: str
    language: str | None
    guid: str | None = None

    @property
    def text(self) -> str:
        """The longest text the feed gives for the entry: full content if present, else the summary."""
        return self.content if len(self.content) > len(self.summary) else self.summary


@dataclass
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry] = field(default_factory=list)
    bozo: str | None = None  # why the feed is ill-formed, when feedparser still got entries out of it
    total_entries: int = 0


def load_feeds(path: str | Path) -> list[FeedConfig]:
    """Read and validate feeds.yaml: every mistake names the file, line and fix. Returns all feeds, enabled or not."""
    return load_feeds_file(path).feeds


def load_feeds_file(path: str | Path) -> FeedsFile:
    """feeds.yaml in full: the feeds and the clustering settings."""
    data = load_yaml(path, what="feeds file")
    check = Checker(path)
    if data is None:
        return FeedsFile([], ClusterSettings())
    root = check.mapping(data, "feeds file")
    check.known_keys(root, {"defaults", "feeds", "clustering"}, "feeds file")
    clustering = ClusterSettings()
    if root.get("clustering") is not None:
        node = check.mapping(root["clustering"], "clustering")
        check.known_keys(node, {"threshold", "title_threshold", "window_hours"}, "clustering")
        clustering = ClusterSettings(
            threshold=float(check.number(node, "threshold", "clustering", default=clustering.threshold,
                                         minimum=0.05, maximum=1.0)),
            title_threshold=float(check.number(node, "title_threshold", "clustering", default=clustering.title_threshold,
                                               minimum=0.05, maximum=1.0)),
            window_hours=float(check.number(node, "window_hours", "clustering", default=72.0, minimum=1,
                                            maximum=24 * 60)),
        )
    defaults = root.get("defaults") or {}
    if defaults:
        check.mapping(defaults, "defaults")
        check.known_keys(defaults, _DEFAULT_KEYS, "defaults")
    base = _limits(check, defaults, "defaults", {})
    items = check.sequence(root, "feeds", "feeds file", required=False)
    feeds: list[FeedConfig] = []
    seen_urls: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"feed {i + 1}"
        if not isinstance(item, dict):
            check.fail(items, i, f"{where} must be a mapping with at least 'url:'", "write '- url: https://...'")
        check.known_keys(item, _FEED_KEYS, where)
        raw_url = check.string(item, "url", where)
        url = canonical_url(raw_url) if raw_url else None
        if url is None or not re.match(r"^https?://", raw_url, re.IGNORECASE):
            check.fail(item, "url", f"{where}: 'url' must be an absolute http(s) URL, got {raw_url!r}",
                       "write the feed's full address, e.g. https://example.com/rss.xml")
        where = f"feed {i + 1} ({raw_url})"
        if url in seen_urls:
            check.fail(item, "url", f"{where}: the same feed URL is already declared on line {seen_urls[url]}",
                       "remove one of the two entries")
        seen_urls[url] = item.line_of("url") if hasattr(item, "line_of") else 0
        name = check.string(item, "name", where, required=False) or _default_name(url)
        if name.lower() in seen_names:
            check.fail(item, "name", f"{where}: the name {name!r} is already used on line {seen_names[name.lower()]}",
                       "give each feed its own name: the digest cites it as the source")
        seen_names[name.lower()] = item.line_of("name") if hasattr(item, "line_of") else 0
        limits = _limits(check, item, where, base)
        feeds.append(FeedConfig(
            url=raw_url.strip(), name=name, topics=tuple(check.strings(item, "topics", where)), **limits,
        ))
    return FeedsFile(feeds, clustering)


def _limits(check: Checker, node: dict, where: str, base: dict) -> dict:
    language = check.string(node, "language", where, required=False, default=base.get("language"))
    if language is not None and not _LANG.match(language):
        check.fail(node, "language", f"{where}: 'language' must be a language code like en or pt-BR, got {language!r}")
    timeout = check.number(node, "timeout", where, default=base.get("timeout"), minimum=1, maximum=300)
    return {
        "language": language,
        "enabled": check.boolean(node, "enabled", where, default=base.get("enabled", True)),
        "max_entries": int(check.number(node, "max_entries", where, default=base.get("max_entries", DEFAULT_MAX_ENTRIES),
                                        minimum=1, maximum=10_000, integer=True)),
        "max_bytes": int(check.number(node, "max_bytes", where, default=base.get("max_bytes", DEFAULT_MAX_BYTES),
                                      minimum=1024, maximum=200 * 1024 * 1024, integer=True)),
        "fetch_pages": check.boolean(node, "fetch_pages", where, default=base.get("fetch_pages", True)),
        "timeout": float(timeout) if timeout is not None else None,
    }


def _default_name(url: str) -> str:
    host = re.sub(r"^https?://", "", url).split("/")[0].split(":")[0]
    return host[4:] if host.startswith("www.") else host


_CHAR_REF = re.compile(r"&#(?:[0-9]+|x[0-9a-fA-F]+);")


def check_xml_safety(body: bytes, source: str) -> None:
    """Refuse external entities and entity expansion beyond MAX_ENTITY_EXPANSION before any parser sees the bytes.

    Simple internal entities (`<!ENTITY nbsp "&#160;">`, character references only) are what real feeds
    declare and are accepted; only values naming other entities (nesting, recursion) are refused."""
    head = _sniff_text(body)
    if "<!ENTITY" not in head.upper():
        return
    budget = 0
    for match in _ENTITY_DECL.finditer(head):
        name, external = match.group(2), match.group(3)
        value = match.group(4) if match.group(4) is not None else (match.group(5) or "")
        if external or match.group(1):
            raise InputError(source, "refused: the feed declares an external or parameter XML entity "
                             f"({name!r}), which could read local files or reach the network",
                             "ask the publisher for a feed without a DTD entity section")
        if "&" in _CHAR_REF.sub("", value) or "%" in value:
            raise InputError(source, f"refused: XML entity {name!r} refers to other entities "
                             "(an entity-expansion 'billion laughs' pattern)", "this is not a usable feed")
        budget += len(value) * head.count(f"&{name};")
        if budget > MAX_ENTITY_EXPANSION:
            raise InputError(source, f"refused: XML entities expand to more than {MAX_ENTITY_EXPANSION:,} "
                             "characters (an entity-expansion bomb)", "this is not a usable feed")
    if "<!ENTITY" in _ENTITY_DECL.sub("", head).upper():
        raise InputError(source, "refused: the feed has an XML entity declaration that cannot be checked",
                         "ask the publisher for a feed without a DTD entity section")


def _sniff_text(body: bytes) -> str:
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return body.decode("utf-32", errors="ignore")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", errors="ignore")
    if body[:4] in (b"<\x00?\x00", b"<\x00!\x00"):
        return body.decode("utf-16-le", errors="ignore")
    if body[:4] in (b"\x00<\x00?", b"\x00<\x00!"):
        return body.decode("utf-16-be", errors="ignore")
    return body.decode("latin-1")


def parse_feed(body: bytes, *, url: str, headers: dict[str, str] | None = None,
               language: str | None = None, max_entries: int = DEFAULT_MAX_ENTRIES, fast: bool = True) -> ParsedFeed:
    """Entries of a feed document; raises InputError (with the reason) when it yields none.

    Plain RSS 2.0 goes through `fastfeed` (the same entries, several times less CPU) unless `fast` is off;
    everything else, and anything fastfeed is unsure of, through feedparser."""
    check_xml_safety(body, url)
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers.setdefault("content-location", url)
    response_headers.setdefault("content-type", "application/xml")
    quick = fastfeed.parse(body, response_headers) if fast else None
    if quick is not None:
        with contextlib.suppress(_NoEntries):  # feedparser then words the reason
            return _parsed(url, *quick, None, language, max_entries)
    try:
        # Relative URIs inside entry HTML are not resolved: only text is kept from that HTML, so the rewrite
        # (a second pass over every HTML value, ~12% of feedparser's time) changes no entry; entry links are
        # still resolved. Sanitizing stays: without it script text leaks into 10 of feedparser's 2,106 test files.
        parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers,
                                  sanitize_html=True, resolve_relative_uris=False)
    except Exception as exc:  # noqa: BLE001 - a parser crash on one feed must not end the run
        raise InputError(url, f"the feed parser failed: {type(exc).__name__}: {exc}") from None
    bozo = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        bozo = f"{type(exc).__name__}: {exc}" if exc else "ill-formed feed"
    try:
        return _parsed(url, parsed.feed, parsed.entries, bozo, language, max_entries)
    except _NoEntries:
        raise InputError(url, _empty_reason(body, parsed, bozo),
                         "check that the URL serves an RSS or Atom feed with items") from None


class _NoEntries(Exception):
    pass


def _parsed(url: str, feed, raw_entries, bozo: str | None, language: str | None, max_entries: int) -> ParsedFeed:
    """newsbrief's entries from feedparser-shaped feed and entry values (feedparser's or fastfeed's)."""
    feed_language = language or _clean_language(feed.get("language"))
    base = feed.get("link") if isinstance(feed.get("link"), str) else None
    contents = [_contents(raw) for raw in raw_entries]
    chrome = repeated_blocks([text for per_entry in contents for _, text in per_entry[:1]])
    entries = []
    for raw, per_entry in zip(raw_entries, contents, strict=True):
        entry = _entry(raw, url, base, feed_language, language, per_entry, chrome)
        if entry is not None:
            entries.append(entry)
    if not entries:
        raise _NoEntries
    return ParsedFeed(title=feed.get("title"), entries=entries[:max_entries], bozo=bozo,
                      total_entries=len(entries))


def _empty_reason(body: bytes, parsed, bozo: str | None) -> str:
    head = body[:512].lstrip().lower()
    if not body.strip():
        return "the feed is empty (0 bytes)"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "not a feed: the URL serves an HTML page"
    if parsed.entries:
        return f"none of the {len(parsed.entries)} entries has a title, link or text"
    if bozo and not parsed.get("version"):
        return f"not a feed (not parseable as RSS/Atom: {bozo})"
    return "the feed has no entries"


def _contents(raw) -> list[tuple[dict, str]]:
    """An entry's content values with their plain text, longest first."""
    values = [c for c in raw.get("content", []) or [] if isinstance(c, dict) and c.get("value")]
    return sorted(((c, html_to_text(c["value"])) for c in values), key=lambda pair: -len(pair[1]))


def _entry(raw, feed_url: str, base: str | None, feed_language: str | None, forced: str | None,
           contents: list[tuple[dict, str]], chrome: frozenset[str]) -> FeedEntry | None:
    link = raw.get("link") if isinstance(raw.get("link"), str) else None
    guid = raw.get("id") if isinstance(raw.get("id"), str) else None
    url = canonical_url(link, base or feed_url) if link else None
    if url is None and guid and re.match(r"^https?://", guid):
        url = canonical_url(guid)
    title = html_to_text(raw.get("title", "") or "").replace("\n", " ").strip()
    summary = html_to_text(raw.get("summary", "") or "")
    content = max((feed_content_text(c["value"], chrome, text, summary) for c, text in contents), key=len,
                  default="")
    if not title and not summary and not content and url is None:
        return None
    if not title:
        title = (summary or content).split("\n")[0][:120] or url
    language = forced or next((_clean_language(c.get("language")) for c, _ in contents if c.get("language")), None)
    author = raw.get("author")
    return FeedEntry(
        url=url, title=title, author=html_to_text(author).strip()[:500] if isinstance(author, str) and author else None,
        published_at=_published(raw), summary=summary, content=content,
        language=language or feed_language, guid=guid,
    )


def _published(raw) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None


def _clean_language(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().replace("_", "-")
    return value.lower() if value and _LANG.match(value) else None
