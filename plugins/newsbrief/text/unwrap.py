"""Join the lines of hard-wrapped text (wire copy, plain-text mail and newsletters, `.txt` seeds) back into
paragraphs before headings and sentences are found.

A wrapped line is recognised by the class-level fact of greedy wrapping, not by per-source rules: the
line is as long as it is because the next word did not fit, i.e. `len(line) + 1 + len(next word)` exceeds
the text's wrap width (estimated as its longest ordinary line). Such a line continues into the next one.
A shorter line ends its paragraph unless it stops mid-sentence (no terminal punctuation) and the next
line goes on in lower case, or it is the first line of the text (wire copy whose dateline was cut off).
What is never joined: blank lines, indented paragraph starts, list items, `>` quoted mail, Markdown
headings and hard breaks (two trailing spaces or a backslash), table rows (column gaps, pipes, or short
lines of figures such as "Shr loss 22 cts vs loss 18 cts") and a one- or two-word sign-off ("Reuter").
Text that is not hard-wrapped (a paragraph per line, as feeds and extractors give it) is returned as is.
"""

from __future__ import annotations

import re

MAX_WRAP_WIDTH = 120
_TERMINAL = tuple('.!?…:;"”’\')»')
_LIST_RE = re.compile(r"\s*(?:[-*+•·–]\s|\(?\d{1,3}[.)]\s|\(?[a-zA-Z][.)]\s)")
_QUOTE_RE = re.compile(r"\s*((?:>\s?)+)")
_MD_HEADING_RE = re.compile(r"\s*(?:#{1,6}\s|[=\-_*]{3,}\s*$)")
_COLUMNS_RE = re.compile(r"\S(?: {2,}|\t)\S")
_NUMBER_RE = re.compile(r"[-+(]?\$?\d[\d,.]*%?\)?")


def _is_table_row(stripped: str) -> bool:
    """A row of figures: aligned columns, pipes, or a short unpunctuated line that is mostly numbers."""
    if stripped.count("|") >= 2 or _COLUMNS_RE.search(stripped):
        return True
    if stripped.endswith((".", "!", "?")):
        return False
    words = stripped.split()
    numbers = sum(1 for w in words if _NUMBER_RE.fullmatch(w))
    if len(words) > 10 or not numbers:
        return False
    return numbers * 3 >= len(words) or (numbers >= 2 and " vs " in f" {stripped.lower()} ")


def _is_caps_heading(stripped: str) -> bool:
    letters = [c for c in stripped if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters) and len(stripped.split()) <= 12


class _Line:
    __slots__ = ("raw", "text", "indent", "length", "hard_break", "quote", "kind")

    def __init__(self, raw: str):
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
        elif _MD_HEADING_RE.match(body) or _is_caps_heading(self.text):
            self.kind = "heading"
        elif _LIST_RE.match(body):
            self.kind = "item"
        elif _is_table_row(self.text):
            self.kind = "table"
        else:
            self.kind = "text"


def _first_word(text: str) -> int:
    return len(text.split(" ", 1)[0])


def _may_be_wrapped(lines: list[str]) -> bool:
    """Cheap test before the line-by-line analysis: some line stops mid-sentence and goes on in the next."""
    width = max((len(line) for line in lines if len(line) <= MAX_WRAP_WIDTH), default=0)
    for cur, nxt in zip(lines, lines[1:], strict=False):
        if cur and nxt and not cur.endswith(_TERMINAL):
            first = nxt.lstrip()
            if len(cur) + 1 + len(first.split(" ", 1)[0]) > width or first[:1].islower() or first[:1].isdigit():
                return True
    return False


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
    lines = [_Line(raw) for raw in raw_lines]
    prose = [ln for ln in lines if ln.kind in ("text", "item")]
    if len(prose) < 2 or sum(ln.length > MAX_WRAP_WIDTH for ln in prose) * 10 > len(prose):
        return text
    width = max((ln.length for ln in prose if ln.length <= MAX_WRAP_WIDTH), default=0)
    base_indent = min((ln.indent for ln in prose), default=0)

    def continues(cur: _Line, nxt: _Line, first: bool) -> bool:
        if cur.kind in ("blank", "heading", "table") or nxt.kind not in ("text",) or cur.hard_break:
            return False
        if cur.quote != nxt.quote:
            return False
        if cur.kind == "item" and nxt.indent > cur.indent:
            return True
        if nxt.indent > base_indent:
            return False
        if len(nxt.text.split()) <= 2 and not nxt.text.endswith(_TERMINAL) and nxt.text[:1].isupper():
            return False
        if cur.length + 1 + _first_word(nxt.text) > width:
            return True
        if cur.text.endswith(_TERMINAL):
            return False
        return nxt.text[:1].islower() or nxt.text[:1].isdigit() or first

    evidence = sum(1 for cur, nxt in zip(lines, lines[1:], strict=False)
                   if not cur.text.endswith(_TERMINAL) and continues(cur, nxt, False))
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
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if current and (nxt is None or not continues(line, nxt, not seen_text)):
            out.append(prefix + " ".join(current))
            current = []
        if line.kind != "blank":
            seen_text = True
    return "\n".join(out)
