"""Join the lines of hard-wrapped text (wire copy, plain-text mail and newsletters, `.txt` seeds) back into
paragraphs before headings and sentences are found.

A wrapped line is recognised by the class-level fact of greedy wrapping, not by per-source rules: the
line is as long as it is because the next word did not fit, i.e. `len(line) + 1 + len(next word)` exceeds
the text's wrap width (estimated as its longest ordinary line, with a few columns of slack: wrappers
differ by one or two in what they count). Such a line continues into the next one. Once a text is known
to be wrapped, a shorter line that stops mid-sentence also continues when it fills three quarters of the
width or ends with a comma, hyphen or function word ("of", "the", "and"), unless it is in Title Case: a
heading is short, capitalised and never ends so. Otherwise a short line ends its paragraph unless the
next line goes on in lower case, or it is the first line of the text (wire copy whose dateline was cut
off) and the next line does not open with a sentence starter such as "The" (then it is a heading).
A line ending in an abbreviation ("U.S.", "L.K.", an initial, "Corp.") has not necessarily ended its
sentence: it continues into a line that goes on in lower case, or as the first line; the sentence
splitter then decides. A line starting "12. " or "C. " right after a wrapped line that stopped
mid-sentence is a date or an initial, not a list item.
What is never joined: blank lines, indented paragraph starts, list items, `>` quoted mail, Markdown
headings and hard breaks (two trailing spaces or a backslash, unless the line fills the width), table
rows (two or more column gaps, pipes, or short lines of figures such as "Shr loss 22 cts vs loss 18
cts", unless the line before is full and stopped mid-sentence, or the row itself fills the width of the
prose or goes on in lower case; a typewriter double space after a full stop is not a column) and a one-
or two-word sign-off ("Reuter"). A line in capitals is a heading only in mixed-case text: in copy written
all in capitals it is prose. Text that is not hard-wrapped (a paragraph per line, as feeds and extractors
give it) is returned as is.
"""

from __future__ import annotations

import re
import string

MAX_WRAP_WIDTH = 120
_CLOSERS = "\"”’')]»"
_LIST_RE = re.compile(r"\s*(?:[-*+•·–]\s|\(?\d{1,3}[.)]\s|\(?[a-zA-Z][.)]\s)")
_QUOTE_RE = re.compile(r"\s*((?:>\s?)+)")
_MD_HEADING_RE = re.compile(r"\s*(?:#{1,6}\s|[=\-_*]{3,}\s*$)")
_COLUMNS_RE = re.compile(r"[^\s.,;:!?](?: {2,}|\t)\S")
_ABBREVIATION_RE = re.compile(
    r"(?:^|[\s(<\"“])(?:(?:[A-Za-z]\.){2,}|[A-Z]\.|(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gen|Col|Lt|Sgt|Capt|Gov|Sen|Rep"
    r"|Rev|Co|Corp|Inc|Ltd|Bros|No|Nos|Vol|Mt|Ft|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.)$")
_OPEN_END = frozenset({"a", "an", "the", "of", "for", "to", "in", "on", "at", "by", "with", "from", "and", "or",
                       "but", "nor", "that", "which", "who", "whose", "as", "than", "its", "their", "his", "her",
                       "our", "into", "onto", "over", "under", "between", "about", "said", "says", "is", "are",
                       "was", "were", "be", "been", "has", "have", "had", "will", "would", "not", "per"})
_STARTERS = frozenset({"The", "A", "An", "It", "Its", "He", "She", "They", "We", "I", "You", "This", "That", "These",
                       "Those", "There", "Here", "In", "On", "At", "But", "And", "However", "After", "When", "While",
                       "As", "If", "For", "Our", "His", "Her", "Their", "What", "Why", "How", "Who", "Some", "Many",
                       "Most", "According", "Meanwhile", "Earlier", "Later", "Now", "Today", "Yesterday"})
"""Words that open a sentence far more often than they continue a name: a first line followed by one of
them is a heading, not a wire story's lede whose dateline was cut off."""
_NUMBER_RE = re.compile(r"[-+(]?\$?\d[\d,.]*%?\)?")
_PROSE_LIST_RE = re.compile(r"[,;] [a-z]")
_INNER_END_RE = re.compile(r"[.!?] [A-Z\d]")


def _ends_sentence(text: str) -> bool:
    """Ends with terminal punctuation, maybe followed by closing quotes or brackets (a bare ")" does not)."""
    return text.rstrip(_CLOSERS)[-1:] in (".", "!", "?", "…", ":", ";")


def _is_columns(stripped: str) -> bool:
    """A table row by layout: aligned columns or pipes."""
    return stripped.count("|") >= 2 or len(_COLUMNS_RE.findall(stripped)) >= 2


def _is_figures(stripped: str) -> bool:
    """A short unpunctuated line that is mostly numbers (but not a run of prose listing figures, which starts
    in lower case, has ", word" or a sentence end in it or stops on a word such as "and" or "vs")."""
    if stripped.endswith((".", "!", "?")) or stripped[:1].islower() or _PROSE_LIST_RE.search(stripped) \
            or _INNER_END_RE.search(stripped):
        return False
    words = stripped.split()
    if words[-1].lower() in _OPEN_END or words[-1] == "vs":
        return False
    numbers = sum(1 for w in words if _NUMBER_RE.fullmatch(w))
    if len(words) > 10 or not numbers:
        return False
    return numbers * 3 >= len(words) or (numbers >= 2 and " vs " in f" {stripped.lower()} ")


def ends_in_abbreviation(text: str) -> bool:
    """The last word is an abbreviation ("U.S.", "L.K.", an initial, "Corp."), so its full stop may not end
    the sentence."""
    return text.endswith(".") and _ABBREVIATION_RE.search(text[-8:]) is not None


_ASCII_UPPER = string.ascii_uppercase.encode()
_ASCII_LETTERS = string.ascii_letters.encode()


def _mostly_capitals(text: str) -> bool:
    sample = text[:4000]
    if sample.isascii():
        raw = sample.encode()
        upper = len(raw) - len(raw.translate(None, _ASCII_UPPER))
        letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
    else:
        upper = sum(1 for c in sample if c.isupper())
        letters = sum(1 for c in sample if c.isalpha())
    return upper > 50 and upper * 2 > letters


def _is_caps_heading(stripped: str) -> bool:
    """Four or more letters, all capitals; `str.isupper` rules out most lines in C first (for ASCII it is
    the same test bar the count)."""
    if stripped.isascii() and not stripped.isupper():
        return False
    letters = [c for c in stripped if c.isalpha()]
    return (len(letters) >= 4 and all(c.isupper() for c in letters) and len(stripped.split()) <= 12
            and not _ends_sentence(stripped))


class _Line:
    __slots__ = ("raw", "text", "indent", "length", "hard_break", "quote", "kind")

    def __init__(self, raw: str, caps_headings: bool = True):
        expanded = raw.expandtabs(4)
        self.hard_break = expanded.endswith("  ") or expanded.rstrip().endswith("\\")
        body = expanded.rstrip()
        self.length = len(body)
        self.text = body.strip()
        self.indent = len(body) - len(body.lstrip())
        quote = _QUOTE_RE.match(body)
        self.quote = quote.group(1).replace(" ", "") if quote and quote.group(1).strip() else ""
        if self.quote:
            self.text = body[quote.end():].strip()
        if not self.text:
            self.kind = "blank"
        elif _MD_HEADING_RE.match(body) or (caps_headings and _is_caps_heading(self.text)):
            self.kind = "heading"
        elif _LIST_RE.match(body):
            self.kind = "item"
        elif _is_columns(self.text):
            self.kind = "table"
        elif _is_figures(self.text):
            self.kind = "figures"
        else:
            self.kind = "text"


def _first_word(text: str) -> int:
    return len(text.split(" ", 1)[0])


def _may_be_wrapped(lines: list[str]) -> bool:
    """Cheap test before the line-by-line analysis: some line stops mid-sentence and goes on in the next."""
    width = max((len(line) for line in lines if len(line) <= MAX_WRAP_WIDTH), default=0)
    for cur, nxt in zip(lines, lines[1:], strict=False):
        if cur and nxt and (not _ends_sentence(cur) or ends_in_abbreviation(cur)):
            first = nxt.lstrip()
            if len(cur) + 1 + len(first.split(" ", 1)[0]) >= width - _slack(width) or first[:1].islower() \
                    or first[:1].isdigit():
                return True
    return False


def _slack(width: int) -> int:
    return max(1, width // 20)


def _title_case(text: str) -> bool:
    words = [w for w in text.split() if w[:1].isalpha()]
    return len(words) >= 2 and sum(w[0].isupper() for w in words) * 3 > 2 * len(words)


def _last_word(text: str) -> str:
    return text.rsplit(" ", 1)[-1]


def unwrap(text: str) -> str:
    """`text` with each hard-wrapped paragraph on one line; other text unchanged (see the module doc)."""
    if text.count("\n") < 1:
        return text
    if len(text) > 2 * MAX_WRAP_WIDTH * (text.count("\n") + 1):
        return text
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lengths = [len(raw) for raw in raw_lines if raw and not raw.isspace()]
    if len(lengths) < 2 or sum(n > MAX_WRAP_WIDTH for n in lengths) * 5 > len(lengths):
        return text
    if not _may_be_wrapped([raw.rstrip() for raw in raw_lines]):
        return text
    caps_headings = not _mostly_capitals(text)
    lines = [_Line(raw, caps_headings) for raw in raw_lines]
    prose = [ln for ln in lines if ln.kind in ("text", "item", "figures")]
    if len(prose) < 2 or sum(ln.length > MAX_WRAP_WIDTH for ln in prose) * 10 > len(prose):
        return text
    width = max((ln.length for ln in prose if ln.length <= MAX_WRAP_WIDTH), default=0)
    base_indent = min((ln.indent for ln in prose), default=0)
    text_width = max((ln.length for ln in prose if ln.kind != "figures" and ln.length <= MAX_WRAP_WIDTH), default=0)

    slack = _slack(width)

    def continues(cur: _Line, nxt: _Line, first: bool, wrapped: bool = True) -> bool:
        """Whether `nxt` goes on with the paragraph of `cur`; `wrapped` once the text is known to be wrapped
        (before that, only the strict signs count as evidence)."""
        if cur.kind in ("blank", "heading", "table") or cur.quote != nxt.quote:
            return False
        if cur.kind == "figures":
            return nxt.kind == "text" and nxt.indent <= base_indent and (
                nxt.text[:1].islower() or 0 < text_width - slack <= cur.length + 1 + _first_word(nxt.text))
        full = cur.length + 1 + _first_word(nxt.text) >= width - slack
        if cur.hard_break and not (full and wrapped):
            return False
        if nxt.kind == "figures":
            return (cur.kind == "text" and full and nxt.indent <= base_indent
                    and (not _ends_sentence(cur.text) or ends_in_abbreviation(cur.text)))
        if nxt.kind == "item":
            return (wrapped and cur.kind == "text" and (full or first) and nxt.indent <= base_indent
                    and (nxt.text[:1].isalnum() or nxt.text[:1] == "(") and not _ends_sentence(cur.text))
        if nxt.kind != "text":
            return False
        if cur.kind == "item" and nxt.indent > cur.indent:
            return True
        if nxt.indent > base_indent:
            return False
        if len(nxt.text.split()) <= 2 and not _ends_sentence(nxt.text) and nxt.text[:1].isupper():
            return False
        if full:
            return True
        lower = nxt.text[:1].islower() or nxt.text[:1].isdigit()
        open_end = cur.text.endswith((",", "-")) or _last_word(cur.text) in _OPEN_END
        first = first and (open_end or nxt.text.split(" ", 1)[0] not in _STARTERS)
        if _ends_sentence(cur.text):
            return ends_in_abbreviation(cur.text) and (lower or first)
        if lower or first:
            return True
        if not wrapped or _title_case(cur.text):
            return False
        return 4 * cur.length > 3 * width or open_end

    evidence = sum(1 for cur, nxt in zip(lines, lines[1:], strict=False)
                   if (not _ends_sentence(cur.text) or ends_in_abbreviation(cur.text))
                   and continues(cur, nxt, False, wrapped=False))
    if not evidence:
        return text
    out: list[str] = []
    current: list[str] = []
    prefix = ""
    seen_text = False
    for i, line in enumerate(lines):
        if not current:
            prefix = line.quote + " " if line.quote else ""
            current = [line.text] if line.kind != "blank" else []
            if line.kind == "blank":
                out.append("")
        else:
            current.append(line.text)
            if line.kind == "figures":
                line.kind = "text"
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if current and (nxt is None or not continues(line, nxt, not seen_text)):
            out.append(prefix + " ".join(current))
            current = []
        if line.kind != "blank":
            seen_text = True
    return "\n".join(out)
