"""Sentence splitting, word tokenization and heading detection, with no downloaded NLTK data.

Sentences come from nupunkt (a pre-trained Punkt model shipped inside the package), which keeps
abbreviations such as "U.S." or "Dr." inside their sentence. Headings are recognised per line
*before* splitting, because a Title-Case heading without final punctuation would otherwise be glued
onto the sentence that follows it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from newsbrief.text.unwrap import unwrap

HEADING = "heading"
PARAGRAPH = "paragraph"

_TERMINAL = tuple('.!?…:;"”’\')»')
_WORD_RE = re.compile(r"[^\W_]+(?:['’\-.][^\W_]+)*", re.UNICODE)
_SPACE_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_ODD_SPACE_RE = re.compile(r"[\t\u00a0\u2000-\u200b\u202f\u205f\u3000]|  ")
MAX_HEADING_WORDS = 14
MAX_HEADING_CHARS = 120


@dataclass(frozen=True, slots=True)
class Block:
    """One line of an article: a section heading (structure only) or a paragraph of sentences."""

    kind: str
    text: str
    sentences: tuple[str, ...] = ()
    """`split_line(text)` for a paragraph from `parse`; empty otherwise."""


def normalize_space(text: str) -> str:
    """NFC-normalise and collapse runs of horizontal whitespace, keeping line breaks."""
    if text.isascii():
        odd_space = "\t" in text or "  " in text
    else:
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        odd_space = _ODD_SPACE_RE.search(text) is not None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if odd_space:
        text = _SPACE_RE.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n"))


def is_heading(line: str) -> bool:
    """A short line without final punctuation, such as "Putin Rejects Comprehensive Ceasefire"."""
    line = line.strip()
    if not line or len(line) > MAX_HEADING_CHARS:
        return False
    if line.endswith(_TERMINAL):
        return False
    words = line.split()
    if len(words) > MAX_HEADING_WORDS:
        return False
    return any(ch.isalpha() for ch in line)


def segment(text: str) -> list[Block]:
    """Split an article body into heading and paragraph blocks, one per non-empty line once hard-wrapped
    paragraphs are joined (`newsbrief.text.unwrap`), so the summarizer and the tagger see whole sentences."""
    blocks = []
    for line in normalize_space(unwrap(text)).split("\n"):
        if not line:
            continue
        blocks.append(Block(HEADING if is_heading(line) else PARAGRAPH, line))
    return blocks


def parse(text: str) -> list[Block]:
    """`segment` with each paragraph's sentences: the one split that template learning and the summary
    share (hard-wrap joining and the sentence model are most of an article's cost)."""
    return [Block(PARAGRAPH, b.text, tuple(split_line(b.text))) if b.kind == PARAGRAPH else b for b in segment(text)]


@lru_cache(maxsize=1)
def _tokenizer():
    from nupunkt import load_default_model

    return load_default_model()


_TRAILING = ".!?…\"'”’)]» "
_BOUNDARY_RE = re.compile(r"[.!?…](?!\w)")


def split_sentences(text: str) -> list[str]:
    """Sentences of a text; line breaks are treated as hard boundaries (paragraphs, headings)."""
    out: list[str] = []
    for line in normalize_space(unwrap(text)).split("\n"):
        if line:
            out.extend(split_line(line))
    return out


def split_line(line: str) -> list[str]:
    """Sentences of one line already normalised by `normalize_space` (e.g. a `segment` block's text).

    A line with no possible boundary before its final punctuation (no '.', '!', '?' or '…' that is
    not glued to a following letter or digit, as in "3.5" or the first dot of "U.S.") is one
    sentence and skips the Punkt model: most news lines are single sentences. A boundary Punkt puts
    inside an open bracket is undone.
    """
    if not _BOUNDARY_RE.search(line.rstrip(_TRAILING)):
        return [line] if line else []
    out: list[str] = []
    for piece in _tokenizer().tokenize(line):
        piece = piece.strip()
        if not piece:
            continue
        if out and _unclosed(out[-1]) and (")" in piece or ">" in piece or "]" in piece):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _unclosed(sentence: str) -> bool:
    """An opening bracket not yet closed: a boundary found inside "<N.Z. Forest Products Ltd>" or
    "(Oct 1/Sept. 30)" is an abbreviation's full stop, not a sentence end."""
    return (sentence.count("(") > sentence.count(")") or sentence.count("<") > sentence.count(">")
            or sentence.count("[") > sentence.count("]"))


def body_sentences(text: str) -> list[str]:
    """Sentences of the paragraphs only: headings are structure and never summary material."""
    out: list[str] = []
    for block in segment(text):
        if block.kind == PARAGRAPH:
            out.extend(split_sentences(block.text))
    return out


def tokenize_words(sentence: str) -> list[str]:
    """Word tokens (letters and digits, keeping inner apostrophes, hyphens and dots as in U.S.)."""
    return _WORD_RE.findall(sentence)


class SumyTokenizer:
    """The object sumy's parsers expect (`language`, `to_sentences`, `to_words`), fed by nupunkt."""

    def __init__(self, language: str = "english"):
        self.language = language

    def to_sentences(self, paragraph: str) -> list[str]:
        return split_sentences(paragraph)

    def to_words(self, sentence: str) -> list[str]:
        return tokenize_words(sentence)
