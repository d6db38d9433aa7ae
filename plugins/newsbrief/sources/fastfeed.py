"""A fast path before feedparser for plain, well-formed RSS 2.0: the same values feedparser would hand to
`feeds.parse_feed`, or None for anything else (feedparser then parses the document as before).

feedparser walks every element through a SAX handler in Python; on the shared feeds that is most of
the ingest's CPU. Here expat (ElementTree) builds the tree and only the handful of elements newsbrief
reads are looked at. Each value goes through the steps feedparser's `pop` applies (strip, URI
resolution, the text/plain-looks-like-HTML guess, feedparser's own HTML sanitizer, its latin-1/UTF-8
repair and cp1252 mapping) using feedparser's own functions, so a value cannot differ in how it is
cleaned, only in which elements are read. One exception: an entry's description and content, which
newsbrief only ever reads as text, skip the sanitizer when their markup is of a form it would pass through
unchanged for that purpose (`_inert_markup`); it was about half of this path's time. That part is kept
small and conservative: any element or attribute whose meaning to feedparser is not one of the cases below (another RSS version, RDF, Atom,
a DTD, xml:base/xml:lang, a charset other than UTF-8, a duplicated or nested field, media:title,
itunes:summary and the like, an unknown namespace whose prefix feedparser has handlers for) sends the
document to feedparser. tests/sources/test_fastfeed.py checks parse_feed's entries equal those from
feedparser on every shared feed and feedparser's corpus wherever this path accepts the document.
"""

from __future__ import annotations

import contextlib
import io
import re
import xml.etree.ElementTree as ET
from html.entities import name2codepoint

from feedparser import mixin, urls
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.sanitizer import _HTMLSanitizer as _Sanitizer
from feedparser.sanitizer import _sanitize_html

_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
_DCTERMS = "http://purl.org/dc/terms/"
_MEDIA = "http://search.yahoo.com/mrss/"
_ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
_ATOM = "http://www.w3.org/2005/Atom"
_FEEDBURNER = "http://rssnamespace.org/feedburner/ext/1.0"
_XML_TYPES = {"application/xml", "application/rss+xml"}
_DECL = re.compile(rb"""^<\?xml\s+version\s*=\s*["']1\.0["'](?:\s+encoding\s*=\s*["']([A-Za-z0-9_.-]+)["'])?"""
                   rb"""(?:\s+standalone\s*=\s*["'](?:yes|no)["'])?\s*\?>""")
_MARKUP = re.compile(r"[<&\r]")  # sgmllib only stops at < and &: other text leaves the sanitizer as it came
_C1 = re.compile("[\x80-\x9f]")  # the only characters feedparser's cp1252 mapping changes
_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", b"xml:base", b"xml:lang")

# Item children whose handling is replicated below, by (namespace, name) as ElementTree spells them.
_TITLE, _LINK, _DESCRIPTION, _GUID, _PUBDATE, _AUTHOR = "title", "link", "description", "guid", "pubDate", "author"
_ENCODED, _CREATOR, _DCDATE, _MODIFIED = (f"{{{_CONTENT}}}encoded", f"{{{_DC}}}creator", f"{{{_DC}}}date",
                                          f"{{{_DCTERMS}}}modified")
_DCLANGUAGE = f"{{{_DC}}}language"
_ITUNES_AUTHOR = f"{{{_ITUNES}}}author"
_AUTHORS = {_AUTHOR, _CREATOR, _ITUNES_AUTHOR}  # all feedparser's `author`; the last one stands
_FIELDS = {_TITLE, _LINK, _DESCRIPTION, _GUID, _PUBDATE, _ENCODED, _DCDATE, _MODIFIED, *_AUTHORS}
# Item children feedparser stores only under keys newsbrief never reads (tags, enclosures, media lists).
_IGNORED_ITEM = {"category", "comments", "enclosure", f"{{{_MEDIA}}}content", f"{{{_MEDIA}}}thumbnail",
                 f"{{{_MEDIA}}}keywords", f"{{{_MEDIA}}}category", f"{{{_ITUNES}}}duration",
                 f"{{{_ITUNES}}}explicit", f"{{{_ITUNES}}}image", f"{{{_ITUNES}}}keywords",
                 f"{{{_ITUNES}}}episode", f"{{{_ITUNES}}}episodeType", f"{{{_ITUNES}}}title",
                 f"{{{_ITUNES}}}subtitle", "subtitle", f"{{{_FEEDBURNER}}}origLink", f"{{{_MEDIA}}}group"}
# A media:title after a non-empty title is dropped by feedparser's title_depth rule; before one it is the title.
_MEDIA_TITLE = f"{{{_MEDIA}}}title"
# What may sit inside those: media elements feedparser files under media_* keys (not media:title/description).
_MEDIA_INSIDE = {f"{{{_MEDIA}}}{name}" for name in ("content", "thumbnail", "credit", "keywords", "category",
                                                      "rating", "restriction", "license")}
_IGNORED_CHANNEL = {"description", "lastBuildDate", "ttl", "image", "copyright", "pubDate", "generator", "category",
                    "managingEditor", "webMaster", "docs", "cloud", "skipHours", "skipDays", "textInput",
                    f"{{{_DC}}}date", f"{{{_DC}}}rights", f"{{{_ITUNES}}}category", f"{{{_ITUNES}}}author",
                    f"{{{_ITUNES}}}subtitle", f"{{{_ITUNES}}}explicit",
                    f"{{{_ITUNES}}}owner", f"{{{_ITUNES}}}image", f"{{{_ITUNES}}}type", f"{{{_ITUNES}}}keywords",
                    f"{{{_ITUNES}}}block", f"{{{_MEDIA}}}category", f"{{{_MEDIA}}}copyright",
                    f"{{{_MEDIA}}}thumbnail", f"{{{_FEEDBURNER}}}info"}
_ENTITIES = frozenset(name2codepoint) | {"apos"}  # the names feedparser's sanitizer passes through
_KNOWN_NS = {_CONTENT, _DC, _DCTERMS, _MEDIA, _ITUNES, _ATOM, _FEEDBURNER}
_Mixin = mixin._FeedParserMixin
_NAMESPACES = {uri.lower(): prefix for uri, prefix in _Mixin.namespaces.items()}
_HANDLED_PREFIXES = {name.split("_")[2] for name in dir(mixin._FeedParserMixin)
                     if name.startswith(("_start_", "_end_")) and name.count("_") >= 3}


class Fallback(Exception):
    """The document is not one this path reproduces exactly."""


def parse(body: bytes, headers: dict[str, str]) -> tuple[dict, list[dict]] | None:
    """(feed, entries) as the dict values feedparser would give for the keys parse_feed reads, or None.

    `headers` are the lower-cased response headers parse_feed hands feedparser (content-location set)."""
    try:
        return _parse(body, headers)
    except Exception:  # noqa: BLE001 - anything this path did not foresee is feedparser's to handle
        return None


def _parse(body: bytes, headers: dict[str, str]) -> tuple[dict, list[dict]] | None:
    ctype, _, params = headers.get("content-type", "").partition(";")
    if ctype.strip().lower() not in _XML_TYPES or params.strip() or headers.get("content-language"):
        return None
    head = body[:4096]
    declared = _DECL.match(head)
    if declared is None and not head.startswith(b"<rss "):
        return None
    if declared is not None and (declared.group(1) or b"utf-8").lower() != b"utf-8":
        return None
    if any(marker in body for marker in _MARKERS):
        return None
    body.decode("utf-8")
    prefixes: dict[str, str] = {}
    events = ET.iterparse(io.BytesIO(body), events=("start-ns",))
    for _, (prefix, uri) in events:
        if prefixes.setdefault(uri, prefix) != prefix or (uri not in _KNOWN_NS and not _inert_prefix(prefix, uri)):
            return None
    root = events.root
    if root.tag != "rss" or dict(root.attrib) != {"version": "2.0"}:
        return None
    channels = list(root)
    if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
        return None
    channel = channels[0]
    location = headers.get("content-location", "")  # what feedparser resolves against, as its api.parse does
    base = urls.make_safe_absolute_uri("", location) or urls.make_safe_absolute_uri(location) or ""
    feed: dict = {}
    entries: list[dict] = []
    for child in channel:
        tag = child.tag
        if tag == "item":
            entries.append(_item(child, base))
        elif tag in ("title", "link", "language", _DCLANGUAGE):
            tag = "language" if tag == _DCLANGUAGE else tag  # one feedparser handler: the last one stands
            if (tag in feed and tag != "language") or child.attrib or len(child):
                return None
            value = _value(child.text, tag, base, "text/plain" if tag == "title" else None)
            if tag == "link":
                value = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", value)
            feed[tag] = value
        elif tag == f"{{{_ATOM}}}link":
            if child.get("rel", "alternate").lower() == "alternate" or "href" not in child.attrib:
                return None
        elif tag not in _IGNORED_CHANNEL and not _inert(child):
            return None
    if not entries or sum(1 for _ in channel.iter("item")) != len(entries):
        return None
    return feed, entries


def _inert_prefix(prefix: str, uri: str) -> bool:
    """Whether feedparser files the elements of an unknown namespace under a prefix it has no handlers for.

    It matches namespaces case-insensitively (any backend.userland.com/rss* as RSS itself) and names
    elements of an unprefixed one without a prefix, so they would be RSS's own title, link..."""
    lowered = uri.lower()
    if "backend.userland.com/rss" in lowered:
        return False
    mapped = _NAMESPACES.get(lowered, prefix)
    return bool(mapped) and mapped not in _HANDLED_PREFIXES


def _inert(element: ET.Element) -> bool:
    """Only elements of namespaces feedparser has no handlers for (their prefixes are checked in _parse)."""
    return all(e.tag.startswith("{") and e.tag[1:].split("}", 1)[0] not in _KNOWN_NS for e in element.iter())


def _item(item: ET.Element, base: str) -> dict:
    if item.attrib:
        raise Fallback
    entry: dict = {}
    seen: set[str] = set()
    for child in item:
        tag = child.tag
        if tag in _FIELDS:
            if (tag in seen and tag not in _AUTHORS) or len(child) or (child.attrib and (tag != _GUID or set(child.attrib) != {"isPermaLink"})):
                raise Fallback
            seen.add(tag)
            _field(entry, tag, child, base)
        elif tag == f"{{{_ATOM}}}link":
            if child.get("rel", "alternate").lower() == "alternate" or "href" not in child.attrib:
                raise Fallback
        elif tag in _IGNORED_ITEM or tag == _MEDIA_TITLE:
            inside = [e for e in child.iter() if e is not child]
            titles = [e for e in (child, *inside) if e.tag == _MEDIA_TITLE]
            if any(e.tag not in _MEDIA_INSIDE and e.tag != _MEDIA_TITLE for e in inside) or (
                    titles and not entry.get("title")):
                raise Fallback
        elif not _inert(child):
            raise Fallback
    return entry


def _field(entry: dict, tag: str, child: ET.Element, base: str) -> None:
    text = child.text
    if tag == _TITLE:
        entry["title"] = _value(text, "title", base, "text/plain")
    elif tag == _LINK:
        value = _value(text, "link", base)
        value = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", value.replace("&amp;", "&"))
        entry["link"] = value
    elif tag == _GUID:
        is_link = child.get("isPermaLink", "true") == "true"
        value = _value(text, "id", base, resolve=is_link)
        entry["id"] = value
        if is_link:
            entry.setdefault("link", value)
    elif tag == _DESCRIPTION:
        entry["summary"] = _value(text, "description", base, "text/html")
    elif tag == _ENCODED:
        value = _value(text, "content", base, "text/html")
        entry["content"] = [{"type": "text/html", "language": None, "base": base, "value": value}]
        entry.setdefault("summary", value)
    elif tag in _AUTHORS:
        entry["author"] = _value(text, "author", base)
    elif tag == _PUBDATE:
        entry["published_parsed"] = _parse_date(_value(text, "published", base))
    else:
        entry["updated_parsed"] = _parse_date(_value(text, "updated", base))


_TEXT_ONLY = {"description", "content"}
_NAME = r"""[^\s"'<>/=]+"""
_VALUE = r"""(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))?"""
_ATTRIBUTE = re.compile(f"({_NAME}){_VALUE}")
_START = re.compile(rf"<([A-Za-z][A-Za-z0-9]*)((?:\s+{_NAME}{_VALUE})*)\s*/?>")
_END = re.compile(r"</([A-Za-z][A-Za-z0-9]*)\s*>")
_REFERENCE = re.compile(r"&(?:([A-Za-z][A-Za-z0-9]*);|#([0-9]{1,7});|#[xX]([0-9A-Fa-f]{1,6});)|&(?=[A-Za-z#])")
_KEPT_TAGS = frozenset(_Sanitizer.acceptable_elements) - {"svg", "math"}
_KEPT_ATTRIBUTES = frozenset(_Sanitizer.acceptable_attributes) - {"style"}


def _inert_markup(html: str) -> bool:
    """Whether feedparser's sanitizer would change nothing in this HTML that its text (ours or trafilatura's)
    could show: every tag well-formed, an element and attributes it keeps as they are (no style, no
    script, no svg), no comment, CDATA or processing instruction, every reference one it passes through
    unchanged (a known name with its ';', a numeric one outside its cp1252 mapping), no carriage return.
    Such values skip the sanitizer, the most expensive step of the fast path; any other value goes through it."""
    if "\r" in html:
        return False
    at = html.find("<")
    while at >= 0:
        if (tag := _START.match(html, at)) is not None:
            if tag.group(1).lower() not in _KEPT_TAGS or any(
                    a.lower() not in _KEPT_ATTRIBUTES for a in _ATTRIBUTE.findall(tag.group(2))):
                return False
        elif (tag := _END.match(html, at)) is None or tag.group(1).lower() not in _KEPT_TAGS:
            return False
        at = html.find("<", tag.end())
    for ref in _REFERENCE.finditer(html):
        name, dec, hexa = ref.groups()
        if name is not None:
            if name not in _ENTITIES:
                return False
            continue
        value = int(dec, 10) if dec else int(hexa, 16) if hexa else 0
        if not (0 < value < 0x80 or 0x9f < value < 0xd800 or 0xdfff < value <= 0x10ffff):
            return False
    return True


def _value(text: str | None, element: str, base: str, ctype: str | None = None, resolve: bool = True) -> str:
    """feedparser's `pop` for one element's text, for the content types and elements used above."""
    output = (text or "").strip()
    if element in _Mixin.can_be_relative_uri and output and resolve:
        output = urls._urljoin(base, output)
    if ctype == "text/plain" and _Mixin.looks_like_html(output):
        ctype = "text/html"
    if ((ctype or "text/html") == "text/html" and element in _Mixin.can_contain_dangerous_markup
            and _MARKUP.search(output) and not (element in _TEXT_ONLY and _inert_markup(output))):
        output = _sanitize_html(output, "utf-8", "text/html")
    if not output.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            output = output.encode("iso-8859-1").decode("utf-8")
        if _C1.search(output):
            output = output.translate(_cp1252)
    return output
