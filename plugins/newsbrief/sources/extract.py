"""Article text: feed HTML to plain text, the teaser test, and main-text extraction from pages (trafilatura).

A feed entry often carries only a teaser (a sentence or two, "Read more..."); summarizing that gives
a useless summary, so the page is fetched and its main text extracted. Some feeds do the opposite and put
the whole page in `content:encoded` (menus, share buttons, sign-up boxes around the story); such content
is recognised by its form (`is_page_chrome`) and the article taken out of it (`feed_content_text`). Pages are decoded with the
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
NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
"""Characters lxml refuses in a tree's text (control bytes, lone surrogates, non-characters): dropped before parsing,
or an edit of the tree (drop_tree moving a tail) raises ValueError."""
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
    html = NOT_XML_TEXT.sub("", html)
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


PAGE_MIN_BLOCKS = 12
MENU_RUN = 4
SHORT_WORDS = 5
PROSE_WORDS = 8
_TERMINAL = (".", "!", "?", "…", '."', ".”", "?”", "!”", ".'", ".’", ".)", "。", "！", "？", "」")
_WORD = re.compile(r"\w+")
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uff00-\uffef]")


def _words(block: str) -> int:
    """Words of a block; in scripts written without spaces (Chinese, Japanese) two characters count as one."""
    return len(_WORD.findall(block)) + len(_WIDE.findall(block)) // 2


def _is_short(block: str) -> bool:
    """A menu entry, button or label: a few words and no sentence end ("Bookmark", "Share", "Join here")."""
    return _words(block) < SHORT_WORDS and not block.endswith(_TERMINAL)


def is_page_chrome(blocks: list[str]) -> bool:
    """Feed HTML that is a whole page rather than an article: many blocks, of which a third or more are
    menu entries and buttons, or a run of `MENU_RUN` of them in a row (a share bar, a list of topic links).
    An article's own subheadings are too few and never come four in a row."""
    if len(blocks) < PAGE_MIN_BLOCKS:
        return False
    short = [_is_short(b) for b in blocks]
    if 3 * sum(short) >= len(blocks):
        return True
    run = 0
    for flag in short:
        run = run + 1 if flag else 0
        if run >= MENU_RUN:
            return True
    return False


def _block_score(block: str) -> int:
    """Words for a block of prose, a penalty for chrome: the article is the span with the highest sum."""
    words = _words(block)
    if words >= 3 * PROSE_WORDS or (words >= PROSE_WORDS and block.endswith(_TERMINAL)):
        return words
    return -PROSE_WORDS if words < SHORT_WORDS else -2


def block_key(block: str) -> str:
    """A block with case, punctuation and spacing left out, to find the blocks a feed's pages share."""
    return " ".join(_WORD.findall(block.casefold()))


def repeated_blocks(texts: list[str], min_entries: int = 3) -> frozenset[str]:
    """Keys of the blocks that recur in `min_entries` or more of one feed document's entries: the page
    chrome its whole-page entries share ("Add CNA as a trusted source ...", sign-up boxes, game plugs).
    Three, not two, so a sentence two stories quote stays article text."""
    counts: dict[str, int] = {}
    for text in texts:
        for key in {block_key(b) for b in text.split("\n") if b}:
            counts[key] = counts.get(key, 0) + 1
    return frozenset(k for k, n in counts.items() if n >= min_entries and k)


def _article_span(blocks: list[str], chrome: frozenset[str], teaser: str | None = None) -> list[str]:
    blocks = [b for b in blocks if block_key(b) not in chrome]
    best, best_span, total, start = 0, (0, len(blocks)), 0, 0
    for i, block in enumerate(blocks):
        if total <= 0:
            total, start = 0, i
        total += _block_score(block)
        if total > best:
            best, best_span = total, (start, i + 1)
    lo, hi = best_span
    probe = block_key(teaser or "")[:80]
    if len(probe.split()) >= 8:
        for i in range(lo, hi):
            if block_key(blocks[i]).startswith(probe):
                if all(_words(b) < 3 * PROSE_WORDS for b in blocks[lo:i]):
                    lo = i
                break
    kept: list[str] = []
    run: list[str] = []
    for block in [*blocks[lo:hi], ""]:
        if block and _is_short(block):
            run.append(block)
            continue
        if len(run) < 3:
            kept.extend(run)
        run = []
        if block:
            kept.append(block)
    return kept


def feed_content_text(html: str, chrome: frozenset[str] = frozenset(), text: str | None = None,
                      teaser: str | None = None) -> str:
    """Plain text of an entry's HTML content; when that content is a whole page (`is_page_chrome`), the
    article only. trafilatura is tried first (it sees the page's structure: nav, aside, link density); when
    what it keeps still looks like a page (flat markup where every block is a `<p>`), the blocks are cut to
    the densest span of prose, with `chrome` (`repeated_blocks` of the feed's entries) and runs of three or
    more menu entries dropped; where the entry's own teaser (its description) starts a block of that span
    with only short blocks before it, the article starts there.
    Content that is an article is returned as `html_to_text` gives it (`text`, when already computed)."""
    text = html_to_text(html) if text is None else text
    blocks = text.split("\n") if text else []
    if not is_page_chrome(blocks):
        return text
    try:
        extracted = trafilatura.extract(f"<html><body>{html}</body></html>", include_comments=False,
                                        include_tables=True, deduplicate=False)
    except Exception:  # noqa: BLE001 - a page trafilatura cannot read is cut by form below
        extracted = None
    if extracted and word_count(extracted) >= MIN_ARTICLE_WORDS:
        candidate = _collapse(extracted)
        if not is_page_chrome(candidate.split("\n")):
            return candidate
    return "\n".join(_article_span(blocks, chrome, teaser))


_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def _collapse(text: str) -> str:
    """One substitution over the whole text: the run pattern never spans a newline, so lines are as if each
    were collapsed on its own."""
    lines = (line.strip() for line in _SPACES.sub(" ", text).split("\n"))
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
