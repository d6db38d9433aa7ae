"""The alert query language, a FreshRSS/Google-like search syntax matched on the tagger's stems.

    words AND by default      tariff steel          both words, anywhere in title or text
    "quoted phrase"           "trade war"           consecutive words
    OR                        tariff OR sanctions   (binds tighter than the implicit AND, like Google)
    -excluded                 tariff -soybean       not this word / phrase / group
    ( )                       (tariff OR duty) steel
    intitle:WORD|"PHRASE"     intitle:tariff        in the title only
    source:NAME|"NAME"        source:"BBC News"     the feed or outlet name or its first words
                                                    (case-insensitive: source:bbc finds "BBC News")
    tag:TOPIC                 tag:tariffs           a topic id of topics.yaml the tagger assigned
    lang:CODE                 lang:en               the article's language (prefix: "en" finds "en-GB")

Words are stemmed like the tagger's (`tagging.taxonomy.stem`), so "tariff" finds "tariffs" and a
hyphenated word ("cease-fire") is the phrase of its parts. `AND` may be written out. A query that
does not parse raises `QueryError` with the 0-based position and what was expected there; nothing
else is raised for any input. `str(query)` prints a canonical form that parses back to an equal query.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

from newsbrief.errors import NewsbriefError
from newsbrief.tagging.taxonomy import phrase_stems, text_stems

FIELDS = ("intitle", "source", "tag", "lang")
_TEXT_FIELDS = (None, "intitle")
_SPECIAL = set("\"()")
_KEYWORDS = {"OR", "AND"}
MAX_LENGTH = 2000
_MAX_DEPTH = 50


class QueryError(NewsbriefError):
    """A query that does not parse: `position` (0-based) and `expected` say where and what."""

    def __init__(self, query: str, position: int, expected: str, found: str | None = None):
        self.query = query
        self.position = position
        self.expected = expected
        self.found = found
        got = f", found {found!r}" if found else ", found the end of the query"
        super().__init__(f"query {query!r}: at position {position}: expected {expected}{got}")


@dataclass(frozen=True)
class Term:
    """Words to find (a phrase when quoted or several stems), optionally only in the title."""

    text: str
    quoted: bool = False
    field: str | None = None  # None (title or text) or "intitle"
    stems: tuple[str, ...] = dataclasses.field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        body = f'"{self.text}"' if self.quoted else self.text
        return f"{self.field}:{body}" if self.field else body


@dataclass(frozen=True)
class Filter:
    """source:, tag: or lang: — compared case-insensitively with the article's metadata."""

    field: str
    value: str

    def __str__(self) -> str:
        return f"{self.field}:{_quote_if_needed(self.value)}"


@dataclass(frozen=True)
class Not:
    child: Node

    def __str__(self) -> str:
        inner = str(self.child)
        return f"-({inner})" if isinstance(self.child, And | Or) else f"-{inner}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " ".join(str(c) for c in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(f"({c})" if isinstance(c, And) else str(c) for c in self.children)


Node = Term | Filter | Not | And | Or


def _quote_if_needed(value: str) -> str:
    bare = (value and not any(c.isspace() or c in _SPECIAL for c in value) and not value.startswith("-")
            and value not in _KEYWORDS and ":" not in value)
    return value if bare else f'"{value}"'


@dataclass(frozen=True)
class Query:
    """A parsed query: its tree, and the source text it came from (not part of equality)."""

    root: Node
    source: str = dataclasses.field(default="", compare=False)

    def __str__(self) -> str:
        return str(self.root)

    @cached_property
    def compiled(self):
        return compile_node(self.root)

    @cached_property
    def terms(self) -> tuple[Term, ...]:
        return tuple(_walk_terms(self.root))


def _walk_terms(node: Node):
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Not):
        yield from _walk_terms(node.child)
    elif isinstance(node, And | Or):
        for c in node.children:
            yield from _walk_terms(c)


# --- tokenizer -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tok:
    kind: str  # word | phrase | field | lparen | rparen | or | and | minus
    value: str
    pos: int
    field: str | None = None
    quoted: bool = False


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            toks.append(_Tok("lparen", c, i))
            i += 1
        elif c == ")":
            toks.append(_Tok("rparen", c, i))
            i += 1
        elif c == '"':
            value, i = _read_phrase(text, i)
            toks.append(_Tok("phrase", value, i - len(value) - 2, quoted=True))
        elif c == "-" and i + 1 < n and not text[i + 1].isspace():
            toks.append(_Tok("minus", c, i))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 1
            word = text[start:i]
            prefix, colon, rest = word.partition(":")
            if colon and prefix.lower() in FIELDS:
                name = prefix.lower()
                if rest:
                    toks.append(_Tok("field", rest, start, field=name))
                elif i < n and text[i] == '"':
                    value, i = _read_phrase(text, i)
                    toks.append(_Tok("field", value, start, field=name, quoted=True))
                else:
                    raise QueryError(text, i, f"a value after '{prefix}:'", text[i] if i < n else None)
            elif word in _KEYWORDS:
                toks.append(_Tok(word.lower(), word, start))
            else:
                toks.append(_Tok("word", word, start))
    return toks


def _read_phrase(text: str, start: int) -> tuple[str, int]:
    end = text.find('"', start + 1)
    if end < 0:
        raise QueryError(text, len(text), 'a closing quote (") for the phrase opened at position '
                         f"{start}")
    value = " ".join(text[start + 1:end].split())
    if not value:
        raise QueryError(text, start + 1, "words inside the quotes", '""')
    return text[start + 1:end], end + 1


# --- parser ----------------------------------------------------------------------------------------
# query   := or_expr+            (implicit AND; "AND" allowed between)
# or_expr := unary ("OR" unary)*
# unary   := "-" unary | atom
# atom    := word | phrase | field | "(" query ")"

class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def fail(self, expected: str):
        tok = self.peek()
        pos = tok.pos if tok else len(self.text)
        raise QueryError(self.text, pos, expected, tok.value if tok else None)

    def parse(self) -> Node:
        node = self.conjunction()
        if self.peek() is not None:
            self.fail("a search term or the end of the query")
        return node

    def conjunction(self) -> Node:
        parts: list[Node] = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "rparen":
                break
            if tok.kind == "and":
                if not parts:
                    self.fail("a search term before AND")
                self.i += 1
                if self.peek() is None or self.peek().kind in ("rparen", "or", "and"):
                    self.fail("a search term after AND")
                continue
            parts.append(self.disjunction())
        if not parts:
            self.fail("a search term")
        return _make(And, parts)

    def disjunction(self) -> Node:
        parts = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            parts.append(self.unary())
        return _make(Or, parts)

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "minus":
            self.i += 1
            self.enter()
            child = self.unary()
            self.depth -= 1
            return child.child if isinstance(child, Not) else Not(child)
        return self.atom()

    def enter(self):
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail(f"at most {_MAX_DEPTH} nested groups or exclusions")

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            self.fail("a search term")
        if tok.kind == "lparen":
            self.i += 1
            self.enter()
            node = self.conjunction()
            self.depth -= 1
            if self.peek() is None or self.peek().kind != "rparen":
                self.fail(f"a closing parenthesis for the one at position {tok.pos}")
            self.i += 1
            return node
        if tok.kind in ("word", "phrase"):
            self.i += 1
            return self.term(tok, None)
        if tok.kind == "field":
            self.i += 1
            if tok.field == "intitle":
                return self.term(tok, "intitle")
            value = " ".join(tok.value.split())
            return Filter(tok.field, value.lower())
        self.fail("a search term")

    def term(self, tok: _Tok, field_name: str | None) -> Term:
        text = " ".join(tok.value.split()) if tok.quoted else tok.value
        stems = phrase_stems(text)
        if not stems:
            raise QueryError(self.text, tok.pos, "a word with letters or digits", tok.value)
        return Term(text, tok.quoted, field_name, stems)


def _make(cls, parts: list[Node]) -> Node:
    flat: list[Node] = []
    for p in parts:
        flat.extend(p.children if isinstance(p, cls) else (p,))
    return flat[0] if len(flat) == 1 else cls(tuple(flat))


def parse(text: str) -> Query:
    """Parse a query; raises `QueryError` (position, expected) and nothing else."""
    if not isinstance(text, str):
        raise QueryError(repr(text), 0, "a query string", type(text).__name__)
    if len(text) > MAX_LENGTH:
        raise QueryError(text[:40] + "...", MAX_LENGTH, f"a query of at most {MAX_LENGTH} characters",
                         "more")
    return Query(_Parser(text).parse(), text)


# --- matching --------------------------------------------------------------------------------------

@dataclass
class Document:
    """What a query is matched against: an article's stems, metadata and tags, computed once."""

    title: tuple[str, ...]
    body: tuple[str, ...]
    source: str = ""
    language: str = ""
    tags: frozenset[str] = frozenset()

    @classmethod
    def of(cls, title: str, text: str, *, source: str = "", language: str | None = None,
           tags=()) -> Document:
        return cls(text_stems(title or ""), text_stems(text or ""), (source or "").lower(),
                   (language or "").lower(), frozenset(t.lower() for t in tags))

    @cached_property
    def title_words(self) -> frozenset[str]:
        return frozenset(self.title)

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(self.title) | frozenset(self.body)

    def has(self, stems: tuple[str, ...], title_only: bool) -> bool:
        pool = self.title_words if title_only else self.words
        if len(stems) == 1:
            return stems[0] in pool
        if any(s not in pool for s in stems):
            return False
        return _contains(self.title, stems) or (not title_only and _contains(self.body, stems))


def _contains(seq: tuple[str, ...], stems: tuple[str, ...]) -> bool:
    """Whether `stems` occur consecutively in `seq`; scans with tuple.index (C), no per-document index."""
    first, n, i = stems[0], len(stems), -1
    while True:
        try:
            i = seq.index(first, i + 1)
        except ValueError:
            return False
        if seq[i:i + n] == stems:
            return True


def evaluate(node: Node, doc: Document, matched: list[str] | None = None) -> bool:
    """Whether `doc` satisfies `node`; the positive terms that matched are appended to `matched`."""
    if isinstance(node, Term):
        hit = doc.has(node.stems, node.field == "intitle")
        if hit and matched is not None:
            matched.append(str(node))
        return hit
    if isinstance(node, Filter):
        if node.field == "tag":
            hit = node.value in doc.tags
        elif node.field == "source":
            hit = doc.source == node.value or doc.source.startswith(node.value + " ")
        else:
            hit = doc.language == node.value or doc.language.startswith(node.value + "-")
        if hit and matched is not None:
            matched.append(str(node))
        return hit
    if isinstance(node, Not):
        return not evaluate(node.child, doc, None)
    if isinstance(node, And):
        return all(evaluate(c, doc, matched) for c in node.children)
    # Or: evaluate every branch so every matched term is reported
    return any([evaluate(c, doc, matched) for c in node.children])


def compile_node(node: Node):
    """`node` as a closure f(doc, matched) -> bool, equivalent to `evaluate` without its per-node
    dispatch (the alert index calls it millions of times)."""
    if isinstance(node, Term):
        label, stems = str(node), node.stems
        if len(stems) == 1:
            stem = stems[0]
            if node.field == "intitle":
                def f(doc, out):
                    if stem in doc.title_words:
                        out.append(label)
                        return True
                    return False
            else:
                def f(doc, out):
                    if stem in doc.words:
                        out.append(label)
                        return True
                    return False
            return f
        title_only = node.field == "intitle"

        def phrase(doc, out):
            if doc.has(stems, title_only):
                out.append(label)
                return True
            return False
        return phrase
    if isinstance(node, Filter):
        def filt(doc, out):
            if evaluate(node, doc, None):
                out.append(str(node))
                return True
            return False
        return filt
    if isinstance(node, Not):
        child = compile_node(node.child)
        return lambda doc, out: not child(doc, [])
    children = [compile_node(c) for c in node.children]
    if isinstance(node, And):
        return lambda doc, out: all(c(doc, out) for c in children)
    return lambda doc, out: any([c(doc, out) for c in children])


def matches(query: Query, doc: Document) -> list[str] | None:
    """The matched terms when the query matches, else None."""
    found: list[str] = []
    if not query.compiled(doc, found):
        return None
    return found if len(found) < 2 else list(dict.fromkeys(found))
