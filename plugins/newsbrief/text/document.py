"""Turn an article body into the candidate sentences every summarizer chooses from.

Cleaning happens once, here, so that every algorithm obeys the same guarantees: headings are
structure, not sentences; a first line or sentence repeating the title is not a candidate (the digest
already shows the title); furniture (bylines, captions, "Read more", a wire dateline before the lede)
is dropped; a sentence repeated verbatim (syndicated copy, a paragraph pasted twice) is a candidate
only once. Only whole sentences (`is_whole_sentence`) are candidates; an article with no whole sentence
at all keeps its other candidates, so it still gets a summary rather than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsbrief.text.furniture import Body, is_boilerplate
from newsbrief.text.sentences import PARAGRAPH

_KEY_RE = re.compile(r"[\W_]+", re.UNICODE)
_DATELINE_RE = re.compile(
    r"(?:(?:[A-Z][\w.'’/-]*|\d{1,2}),?\s+){0,6}"
    r"\((?:CNN(?: Business| Money)?|AP|Reuters|AFP|UPI|dpa|AAP|Xinhua|EFE|ANSA|PA|IANS|PTI)\)\s*(?:--|[-—–:])?\s*"
    r"(?=[A-Z\d\"“‘'])")


MAX_FURNITURE_BLOCK = 300
"""A caption or "Read more" list of several sentences is judged as a whole only up to this length: a whole
article delivered as one line (CNN/DailyMail data, many feeds) must not be dropped because its last
sentence ends "via Reuters"."""


def strip_dateline(sentence: str) -> str:
    """'LONDON, England (CNN) -- Plans to...' becomes 'Plans to...': the dateline is furniture, the rest
    is the lede."""
    match = _DATELINE_RE.match(sentence)
    return sentence[match.end():] if match and len(sentence) - match.end() > 20 else sentence


_OPENING_RE = re.compile(r"[\"“‘'(\[<«¿¡]*[^\W_a-z]", re.UNICODE)
_CLOSERS = "\"”’'»)]"
_ENDERS = frozenset(".!?…")


def is_whole_sentence(sentence: str) -> bool:
    """Starts like a sentence (capital letter or digit, maybe after an opening quote or bracket, or the "<"
    with which wire copy marks a company name) and ends with terminal punctuation, maybe followed by a
    closing quote or bracket: not a wrapped line piece, a heading glued into a paragraph or a label."""
    return sentence.rstrip(_CLOSERS)[-1:] in _ENDERS and _OPENING_RE.match(sentence) is not None


def _key(text: str) -> str:
    return _KEY_RE.sub(" ", text.casefold()).strip()


@dataclass(frozen=True)
class Article:
    """Candidate sentences in document order, each with the index of its paragraph."""

    title: str
    sentences: tuple[str, ...]
    paragraphs: tuple[int, ...]

    def paragraph_groups(self) -> list[list[str]]:
        groups: list[list[str]] = []
        last = None
        for sentence, para in zip(self.sentences, self.paragraphs, strict=True):
            if para != last:
                groups.append([])
                last = para
            groups[-1].append(sentence)
        return groups


def prepare(text: str | Body, title: str | None = None, templates: frozenset[str] | set[str] = frozenset()) -> Article:
    """Candidate sentences of `text` (a `Body` brings its own title); `templates` are the source's learned
    template keys (`newsbrief.text.furniture.template_key`): lines and sentences with those keys are furniture."""
    body = text if isinstance(text, Body) else Body(text, title)
    title = (body.title or "").strip()
    title_key = _key(title)
    title_probe = max(title_key.split(), key=len, default="")
    longest_repeat = 2 * len(title_key) + 20
    sentences: list[str] = []
    paragraphs: list[int] = []
    seen: set[str] = set()
    blocks = body.blocks
    if blocks and title_key and _key(blocks[0].text) == title_key:
        blocks = blocks[1:]
    for index, block in enumerate(blocks):
        if block.kind != PARAGRAPH:
            continue
        if templates and body.key(block.text) in templates:
            continue
        split = block.sentences
        if len(split) > 1 and len(block.text) <= MAX_FURNITURE_BLOCK and is_boilerplate(block.text):
            continue
        for sentence in split:
            if templates and body.key(sentence) in templates:
                continue
            if not sentences:
                sentence = strip_dateline(sentence)
            key = " ".join(sentence.casefold().split())
            repeats_title = (title_key and len(key) <= longest_repeat and title_probe in key
                             and _key(sentence) == title_key)
            if not key or key in seen or is_boilerplate(sentence) or repeats_title:
                continue
            seen.add(key)
            sentences.append(sentence)
            paragraphs.append(index)
    whole = [i for i, sentence in enumerate(sentences) if is_whole_sentence(sentence)]
    if whole and len(whole) < len(sentences):
        sentences = [sentences[i] for i in whole]
        paragraphs = [paragraphs[i] for i in whole]
    return Article(title, tuple(sentences), tuple(paragraphs))
