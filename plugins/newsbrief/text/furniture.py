"""Recognise article furniture that must never reach a summary: bylines, photo captions and credits,
"Read more" and sharing prompts, newsletter pitches, timestamps and copyright lines.

Extractors leave such lines in bodies often enough (they sit inside the article markup), and a
centrality scorer loves them because they repeat names from the story. The patterns describe the
*form* of furniture as publishers write it, so they carry across outlets. Patterns that could also
open a real sentence ("By Friday, ...", "Updated figures show ...") only apply to short lines.
"""

from __future__ import annotations

import hashlib
import re

_NAME = r"(?:[A-Z][\w'’.\-]*|de|van|von|der|da|di|la|le|bin|al)"
_NAMES = rf"{_NAME}(?:\s+{_NAME}){{0,4}}"
_AGENCY = (r"(?:getty images|afp|ap photo|ap|reuters|epa|shutterstock|alamy|pa media|pa wire|pa"
           r"|bloomberg|xinhua|anadolu|ap images|efe|ansa|tass|sipa|rex features|zuma)")

_START = [
    r"(?:photo|photograph|picture|image|video|graphic|illustration|caption|file photo)\s*"
    r"(?:caption|credit|source|copyright)?\s*[:|]",
    r"image (?:caption|source|copyright)\b",
    r"(?:photos?|pictures?|images?)\s+(?:courtesy of|by)\s",
    r"(?:reporting|additional reporting|editing|writing|compiled|edited) by\s",
    r"this (?:article|story) (?:was|has been) (?:originally |first )?(?:published|updated|corrected)",
    r"the (?:opinions|views) expressed (?:in this|here)",
]
_END = [
    r"\((?:file\s+)?(?:photo|picture|image|video|credit)\s*(?:by|credit|:)[^)]*\)\s*$",
    rf"(?:[/©]\s*|\bvia\s+|\bcredit:?\s+|\bphoto:?\s+){_AGENCY}\)?\.?\s*$",
    r"\bcontributed (?:to )?(?:this|the) (?:report|story|article)\s*\.?\s*$",
]
_BYLINE = (rf"(?i:by|written by|words by|story by)\s+{_NAMES}(?:\s*(?:,|and|&)\s*{_NAMES})*"
           r"\s*(?:[,|•·/–—-]\s*[^.!?]{0,60})?$")
_SHORT_START = [
    r"(?:read|see|watch|click|tap|listen) (?:more|also|next|here|now|the full|our)\b",
    r"(?:related|more|recommended|most read|most popular|trending|top stories|also read|you may also like"
    r"|further reading|more on this story|more from|related (?:stories|articles|content|topics))"
    r"(?:\s*[:|»>\-–—]|\s*$)",
    r"(?:advertisement|sponsored|promoted|skip advertisement|story continues below)\b",
    r"(?:sign up|subscribe|join us|follow us|download (?:our|the)|get the app|share this|share on"
    r"|share your (?:story|stories|photos?|videos?|views?|thoughts|experiences?)"
    r"|email us|send us|contact (?:the )?(?:author|us|reporter))\b",
    r"(?:follow|contact)\s+(?:\S+\s+){0,4}(?:on|at|via)\s+(?:twitter|x|facebook|instagram|linkedin|bluesky|@)",
    r"(?:follow|listen|subscribe|watch)\s+(?:on|in|via|with)\s+(?:the\s+)?(?:apple|spotify|youtube|google podcasts"
    r"|\S+(?:\s+\S+)?\s+app\b)",
    r"@\w+\s*$",
    r"(?:copyright|©|\(c\))\s",
    r"(?:published|updated|posted|last (?:updated|modified)|first published)(?:\s+(?:on|at))?[:\s]+"
    r"(?:\d|(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\w+ ago\b)",
    r"\S+@\S+\.\w+$",
    r"(?:continue reading|keep reading|back to top|print this|comments?\s*\(\d+\)|\d+\s+comments?)",
    r"(?:scroll down|(?:watch|see|play) (?:the )?video\b|video (?:courtesy|source|provided)|follow\s+@"
    r"|(?:sorry,? )?we are (?:not currently|no longer) accepting comments)",
]


def _any(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_START_RE = _any(_START)
_END_RE = _any(_END)
_SHORT_START_RE = _any(_SHORT_START)
_BYLINE_START_RE = re.compile(r"(?:by|written by|words by|story by)\s", re.IGNORECASE)
_BYLINE_RE = re.compile(_BYLINE)
_DATE_WORD = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)"
              r"[a-z]*|[ap]\.?m|gmt|utc|bst|cet|cest|est|edt|pst|pdt|et|pt|updated|published|posted|modified|last")
_TIMESTAMP_RE = re.compile(rf"[\W\d_]*(?:(?:{_DATE_WORD})\b[\W\d_]*)+", re.IGNORECASE)
_CAPS = r"(?:[A-Z][\w'’&.-]*\s+){0,3}[A-Z][\w'’&.-]*"
_CREDIT_RE = re.compile(rf"(?:and\s+)?{_CAPS}(?:\s+(?:for|and|in)\s+{_CAPS})?\s*\.?")
_LETTER_WORD_RE = re.compile(r"[^\W\d_]{2,}|\b[^\W\d_]\b")
SHORT_WORDS = 16


def is_boilerplate(sentence: str) -> bool:
    """True for furniture (byline, caption, credit, 'Read more', share/subscribe prompt, timestamp)
    and for fragments with fewer than two words of letters (a lone date, a score line, "Advertisement").
    A short line of only date and time words ("14:11 EST, 25 October 2013") is a timestamp; one of up
    to four capitalised words and no verb-like lower-case word ("Associated Press.", "Sam Webb for
    MailOnline .", "and Rachel Reilly .": the pieces of a Daily Mail byline split at its dots) is a
    credit."""
    s = sentence.strip().strip("*_#>|").strip()
    if len(s) < 40 and len(_LETTER_WORD_RE.findall(s)) < 2:
        return True
    if len(s) < 60 and (_TIMESTAMP_RE.fullmatch(s) or _CREDIT_RE.fullmatch(s)):
        return True
    lower = s.lower()
    if _START_RE.match(s) or "all rights reserved" in lower:
        return True
    if ("/" in s or "©" in s or "via " in lower or "credit" in lower or "photo" in lower or s.endswith(")")
            or "contributed" in lower) \
            and _END_RE.search(s, max(0, len(s) - 160)):
        return True
    if s.count(" ") >= SHORT_WORDS:
        return False
    if _BYLINE_START_RE.match(s):
        return bool(_BYLINE_RE.match(s)) and not s.rstrip("\"'”’").endswith((".", "!", "?"))
    return (bool(_SHORT_START_RE.match(s)) or "newsletter" in lower or "click here" in lower
            or s.rstrip(" .").endswith("»"))


_TEMPLATE_KEY_RE = re.compile(r"[\W_]+", re.UNICODE)
TEMPLATE_MIN_ARTICLES = 3
"""A line or sentence is a source's template text once it recurs in this many of the source's articles:
two stories of one outlet quoting the same real sentence do not make it furniture, a third repeat does
(every item of a feed carries its sign-up line, so a feed's first run with three items already learns it)."""


_ASCII_PUNCTUATION = bytes(b for b in range(128) if not chr(b).isalnum())
_ASCII_KEY_TABLE = bytes.maketrans(_ASCII_PUNCTUATION, b" " * len(_ASCII_PUNCTUATION))


def _normal(text: str) -> str:
    """Case-folded words joined by single spaces (every run of non-letters and non-digits is one space);
    ASCII text takes a byte table, the same result a third of the regex's cost."""
    if text.isascii():
        return " ".join(text.lower().encode().translate(_ASCII_KEY_TABLE).decode().split())
    return _TEMPLATE_KEY_RE.sub(" ", text.casefold()).strip()


def _title_normal(title: str | None) -> str:
    """The normalised title that a key leaves out, "" when too short to be worth it."""
    norm = _normal(title) if title else ""
    return norm if len(norm) >= 12 else ""


def _key(text: str, title_norm: str) -> str:
    norm = _normal(text)
    if title_norm:
        norm = norm.replace(title_norm, "\u2063")
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


def template_key(text: str, title: str | None = None) -> str:
    """A short hash of a line or sentence, case, punctuation and the article's own title left out, so
    "The post <title> appeared first on <site>." is one template across all of a blog's posts."""
    return _key(text, _title_normal(title))


class Body:
    """An article body parsed once (`newsbrief.text.sentences.parse`), with each line's and sentence's
    `template_key` computed once: template learning and the summary ask for the same ones."""

    __slots__ = ("title", "blocks", "_title_norm", "_keys")

    def __init__(self, text: str | None, title: str | None = None):
        from newsbrief.text.sentences import parse

        self.title = title
        self.blocks = parse(text or "")
        self._title_norm = _title_normal(title)
        self._keys: dict[str, str] = {}

    def key(self, text: str) -> str:
        """`template_key(text, self.title)`."""
        key = self._keys.get(text)
        if key is None:
            key = self._keys[text] = _key(text, self._title_norm)
        return key


def template_candidates(text: str | Body, title: str | None = None) -> set[str]:
    """Keys of every paragraph line and every sentence of an article body: the units a source repeats.
    Given a `Body`, its own title is used."""
    from newsbrief.text.sentences import PARAGRAPH

    body = text if isinstance(text, Body) else Body(text, title)
    keys: set[str] = set()
    for block in body.blocks:
        if block.kind != PARAGRAPH:
            continue
        keys.add(body.key(block.text))
        if len(block.sentences) > 1:
            keys.update(map(body.key, block.sentences))
    return keys
