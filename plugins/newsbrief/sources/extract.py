"""Article text: feed HTML to plain text, the teaser test, and main-text extraction from pages (trafilatura).

A feed entry often carries only a teaser (a sentence or two, "Read more..."); summarizing that gives
a useless summary, so the page is fetched and its main text extracted. Pages are decoded with the
charset the server declared (trafilatura never sees HTTP headers, and guessing goes wrong on short
non-UTF-8 pages); otherwise trafilatura's own detection applies. Comments are left out: they are not
the article.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
import trafilatura
from lxml import etree

TEASER_MAX_WORDS = 150
MIN_ARTICLE_WORDS = 25
_TRUNCATED = re.compile(
    r"(\.\.\.|…|\[\s*(\.\.\.|…)\s*\]|\[more\]|read more|continue reading|read the full (story|article)|"
    r"the post .{1,200} appeared first on .{1,100})\W*$", re.IGNORECASE)
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
               "table", "tr", "section", "article", "header", "footer", "figure", "figcaption", "hr", "dd", "dt"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)

logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


@dataclass
class Extracted:
    text: str
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, one line per block, whitespace collapsed; plain text passes through."""
    if not html:
        return ""
    html = _CONTROL.sub("", html)
    if "<" not in html and "&" not in html:
        return _collapse(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return _collapse(re.sub(r"<[^>]+>", " ", html))
    for node in root.xpath("//comment() | //processing-instruction()"):
        node.drop_tree()
    parts: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else None
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if tag is not None and tag not in ("script", "style") and element.text:
                parts.append(element.text)
        else:
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if element.tail and element is not root:
                parts.append(element.tail)
    return _collapse("".join(parts))


def _collapse(text: str) -> str:
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


def is_teaser(text: str, *, max_words: int = TEASER_MAX_WORDS) -> bool:
    """True when the feed text is too short to summarize or visibly cut off, so the page is worth fetching."""
    text = (text or "").strip()
    if word_count(text) < max_words:
        return True
    return bool(_TRUNCATED.search(text[-300:]))


def declared_charset(content_type: str | None, body: bytes) -> str | None:
    """The charset named by the HTTP header, else by a <meta> tag near the top; None if neither is usable."""
    for candidate in (_CHARSET.search(content_type or ""), _META_CHARSET.search(body[:4096])):
        if candidate:
            name = candidate.group(1)
            name = name.decode("ascii", "ignore") if isinstance(name, bytes) else name
            try:
                return "utf-8" if name.lower() in ("utf8", "utf-8") else codecs.lookup(name).name
            except LookupError:
                continue
    return None


def decode_page(body: bytes, content_type: str | None = None) -> str | bytes:
    """Text decoded with the declared charset, or the bytes as they are for trafilatura's own detection."""
    charset = declared_charset(content_type, body)
    if charset:
        try:
            return body.decode(charset)
        except (UnicodeDecodeError, LookupError):
            pass
    return body


def extract_main_text(body: bytes | str, *, url: str | None = None, content_type: str | None = None,
                      min_words: int = MIN_ARTICLE_WORDS) -> Extracted | None:
    """The page's main text and metadata, or None when no article text (of at least `min_words`) is found."""
    page = decode_page(body, content_type) if isinstance(body, bytes) else body
    try:
        doc = trafilatura.bare_extraction(page, url=url, with_metadata=True, include_comments=False,
                                          include_tables=True, deduplicate=False)
    except Exception:  # noqa: BLE001 - a broken page is a flagged article, never a failed run
        return None
    if doc is None or word_count(doc.text or "") < min_words:
        return None
    return Extracted(
        text=_collapse(doc.text),
        title=doc.title or None,
        author=doc.author or None,
        published_at=_parse_date(doc.date),
        language=doc.language or None,
    )


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
