"""The topic taxonomy: config/topics.yaml read, validated and compiled into matchable terms.

Users edit topics in YAML only, so every mistake must come back as a ConfigError naming the file,
the line and the entry to fix; nothing is half-loaded. Phrases are stemmed once here, so "peace
talks" also matches "peace talk" and "talked peace" does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from newsbrief.config.yamlconf import Checker, LineList, load_yaml

_ID = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_IPTC = re.compile(r"^medtop:\d{8}$")
_WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*", re.UNICODE)
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]\.?|[A-Z]{2}")
_POSSESSIVE = ("'s", "’s", "'S", "’S")

_ROOT_KEYS = {"version", "defaults", "topics", "states"}
_DEFAULT_KEYS = {"threshold", "strong_weight", "keyword_weight", "title_weight", "heading_weight",
                 "lead_weight", "lead_sentences", "length_ref", "sentence_cap", "needs_lead", "background_weight",
                 "min_probability"}
_TOPIC_KEYS = {"id", "label", "iptc", "description", "threshold", "strong_weight", "keyword_weight", "needs_lead",
               "strong", "keywords", "needs_context", "strong_needs_context", "context", "context_window",
               "patterns", "strong_patterns", "exclude", "exclude_patterns", "yields_to", "needs_states",
               "examples", "min_probability", "broad"}
_PHRASE_LISTS = ("strong", "keywords", "needs_context", "strong_needs_context", "context", "exclude", "needs_states")
_PATTERN_LISTS = ("patterns", "strong_patterns", "exclude_patterns")


@dataclass(frozen=True)
class Scoring:
    """How evidence is weighed; the `defaults:` block of topics.yaml, each value documented there."""

    threshold: float = 2.0
    strong_weight: float = 3.0
    keyword_weight: float = 1.0
    title_weight: float = 2.0
    heading_weight: float = 1.5
    lead_weight: float = 1.5
    lead_sentences: int = 2
    length_ref: float = 12.0
    sentence_cap: float = 3.0
    needs_lead: bool = False
    background_weight: float = 1.0
    min_probability: float = 0.5


@dataclass(frozen=True)
class Term:
    """One trigger of a topic: a stemmed phrase or a regular expression, with its weight."""

    text: str
    weight: float
    stems: tuple[str, ...] = ()
    regex: re.Pattern | None = None
    needs_context: bool = False
    strong: bool = False
    needs_states: bool = False


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    iptc: str | None
    threshold: float
    terms: tuple[Term, ...]
    context: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[tuple[str, ...], ...] = ()
    exclude_patterns: tuple[re.Pattern, ...] = ()
    description: str | None = None
    needs_lead: bool = False
    context_window: int = 0
    yields_to: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    min_probability: float = 0.5
    broad: bool = False
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class States:
    """The file's `states:` gazetteer: every name of a state (country, demonym, capital, seat of
    government) mapped to the state it names, so "Beijing" and "Chinese" are one party and "China"
    and "Japan" are two.

    Names are proper nouns and match as written ("China", not "china"; "US", not "us"); in a line
    with no lower-case letter (a wire headline in capitals) case is ignored."""

    names: dict[str, int]
    regex: re.Pattern
    loose: re.Pattern

    @classmethod
    def of(cls, names: dict[str, int]) -> States:
        # longest first, so "South Sudan" is not read as "Sudan" and "North Korean" not as two names
        alternation = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
        pattern = rf"(?<![\w.])(?:{alternation})(?!\w)"
        upper = {n.upper(): k for n, k in names.items()}
        return cls(names | upper, re.compile(pattern), re.compile(pattern, re.IGNORECASE))

    def named(self, text: str) -> frozenset[int]:
        """The states a sentence names (an empty set when it names none)."""
        if any(c.islower() for c in text):
            return frozenset(self.names[m.group()] for m in self.regex.finditer(text))
        return frozenset(self.names[m.group().upper()] for m in self.loose.finditer(text))


@dataclass(frozen=True)
class Taxonomy:
    topics: tuple[Topic, ...]
    scoring: Scoring = Scoring()
    path: Path | None = None
    states: States | None = None

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.topics]

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


@lru_cache(maxsize=1)
def _stemmer():
    from sumy.nlp.stemmers import Stemmer

    return Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Lower-cased Snowball stem; possessives dropped ("Ukraine’s" and "Ukraine" are one word)."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return _stemmer()(word)


def tag_stem(word: str) -> str:
    """`stem`, except that an abbreviation is one upper-case form with or without its dots: "U.S.",
    "u.s." and "US" are all "US" (not the pronoun "us", a stop word), "U.N." and "UN" are "UN". Wire copy
    writes "U.S.", today's feeds "US"; the tagger's words must meet. A word of three or more capitals
    is an ordinary word ("NATO" and "Nato" are "nato")."""
    bare = word[:-2] if word[-2:] in _POSSESSIVE else word
    if _ABBREVIATION.fullmatch(bare):
        return bare.replace(".", "").upper()
    return stem(word.lower())


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """(stem, start, end) for each word; hyphenated compounds count as their parts ("cease-fire")."""
    return [(stem(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def phrase_stems(phrase: str) -> tuple[str, ...]:
    return tuple(s for s, _, _ in word_spans(phrase))


class _StemCache(dict):
    """word -> `stem(word)`; looked up from C (`map(cache.__getitem__, words)`), filled on a miss."""

    MAX = 200_000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.MAX:
            self.clear()
        value = self[word] = stem(word)
        return value


_STEMS = _StemCache()


def text_stems(text: str) -> tuple[str, ...]:
    """`phrase_stems(text)` (the same words, the same stems), without the spans it drops: for stemming
    whole articles (the alerts stem millions of words a run), where the per-word cost is what counts."""
    return tuple(map(_STEMS.__getitem__, _WORD.findall(text)))


def _phrases(check: Checker, node: dict, key: str, where: str) -> list[tuple[str, tuple[str, ...]]]:
    items = check.strings(node, key, where)
    out = []
    for i, item in enumerate(items):
        stems = phrase_stems(item)
        if not stems:
            check.fail(node[key], i, f"{where}: '{key}' item {item!r} has no words to match",
                       "write a word or phrase, or move a regular expression to 'patterns'")
        out.append((item, stems))
    return out


def _regexes(check: Checker, node: dict, key: str, where: str) -> list[tuple[str, re.Pattern]]:
    items = check.strings(node, key, where)
    out = []
    for i, item in enumerate(items):
        try:
            out.append((item, re.compile(item, re.IGNORECASE)))
        except re.error as exc:
            check.fail(node[key], i, f"{where}: '{key}' item {item!r} is not a valid regular expression ({exc})",
                       "fix the expression; quote it in single quotes so backslashes stay as written")
    return out


def _weight(check: Checker, node: dict, key: str, where: str, default: float) -> float:
    return float(check.number(node, key, where, default=default, minimum=0.01, maximum=100))


def _scoring(check: Checker, root: dict) -> Scoring:
    if "defaults" not in root or root["defaults"] is None:
        return Scoring()
    node = check.mapping(root["defaults"], "defaults")
    check.known_keys(node, _DEFAULT_KEYS, "defaults")
    base = Scoring()
    return Scoring(
        threshold=_weight(check, node, "threshold", "defaults", base.threshold),
        strong_weight=_weight(check, node, "strong_weight", "defaults", base.strong_weight),
        keyword_weight=_weight(check, node, "keyword_weight", "defaults", base.keyword_weight),
        title_weight=_weight(check, node, "title_weight", "defaults", base.title_weight),
        heading_weight=_weight(check, node, "heading_weight", "defaults", base.heading_weight),
        lead_weight=_weight(check, node, "lead_weight", "defaults", base.lead_weight),
        lead_sentences=int(check.number(node, "lead_sentences", "defaults", default=base.lead_sentences,
                                        minimum=0, maximum=50, integer=True)),
        length_ref=_weight(check, node, "length_ref", "defaults", base.length_ref),
        sentence_cap=_weight(check, node, "sentence_cap", "defaults", base.sentence_cap),
        needs_lead=check.boolean(node, "needs_lead", "defaults", default=base.needs_lead),
        background_weight=float(check.number(node, "background_weight", "defaults", default=base.background_weight,
                                             minimum=0, maximum=1)),
        min_probability=_probability(check, node, "defaults", base.min_probability),
    )


def _probability(check: Checker, node: dict, where: str, default: float) -> float:
    return float(check.number(node, "min_probability", where, default=default, minimum=0.01, maximum=0.99))


def _states(check: Checker, root: dict) -> States | None:
    """The `states:` list: one entry per state, a list of its names; a name may name one state only."""
    entries = check.sequence(root, "states", "the file", required=False)
    if not entries:
        return None
    names: dict[str, int] = {}
    where_first: dict[str, int] = {}
    for k, entry in enumerate(entries):
        if not isinstance(entry, list) or not entry:
            check.fail(entries, k, f"states: entry {k + 1} must be a list of names, got {entry!r}",
                       "write the state's names in brackets, e.g. [China, Chinese, Beijing]")
        for j, name in enumerate(entry):
            if not isinstance(name, str) or not _WORD.search(name):
                check.fail(entry, j, f"states: entry {k + 1}: name {name!r} has no words to match",
                           "write a country, demonym or capital as it appears in news text")
            name = " ".join(name.split())
            if name.upper() in where_first:
                check.fail(entry, j, f"states: {name!r} is listed twice (first on line {where_first[name.upper()]})",
                           "a name may stand for one state only: remove one of them")
            where_first[name.upper()] = entry.line_of(j)
            names[name] = k
    return States.of(names)


def _topic(check: Checker, entries: LineList, i: int, scoring: Scoring, seen: dict[str, int],
           states: States | None) -> Topic:
    entry = entries[i]
    if not isinstance(entry, dict):
        check.fail(entries, i, f"topic {i + 1} must be a mapping with 'id:' and 'label:', got {entry!r}")
    topic_id = check.string(entry, "id", f"topic {i + 1}")
    where = f"topic '{topic_id}'"
    if not _ID.match(topic_id):
        check.fail(entry, "id", f"{where}: id must be lower-case letters, digits, '-' or '_', starting with a letter",
                   "use a short slug such as 'peace-talks'")
    if topic_id in seen:
        check.fail(entry, "id", f"{where} is defined twice (first on line {seen[topic_id]})",
                   "rename one of them or merge the two entries")
    seen[topic_id] = entry.line_of("id")
    check.known_keys(entry, _TOPIC_KEYS, where)
    label = check.string(entry, "label", where)
    iptc = entry.get("iptc")
    if iptc is not None and (not isinstance(iptc, str) or not _IPTC.match(iptc.strip())):
        check.fail(entry, "iptc", f"{where}: iptc {iptc!r} is not an IPTC Media Topic code",
                   "write it as medtop: and eight digits, e.g. medtop:20000639, or leave 'iptc' out")
    iptc = iptc.strip() if iptc is not None else None
    strong_w = _weight(check, entry, "strong_weight", where, scoring.strong_weight)
    keyword_w = _weight(check, entry, "keyword_weight", where, scoring.keyword_weight)
    phrases = {key: _phrases(check, entry, key, where) for key in _PHRASE_LISTS}
    regexes = {key: _regexes(check, entry, key, where) for key in _PATTERN_LISTS}
    if phrases["needs_states"] and states is None:
        check.fail(entry, "needs_states", f"{where}: 'needs_states' words need the file's 'states:' list",
                   "add a top-level 'states:' list of countries with their demonyms and capitals")
    context_stems = {stems for _, stems in phrases["context"]}
    for key in ("needs_context", "strong_needs_context"):
        if phrases[key] and not phrases["context"]:
            check.fail(entry, key, f"{where}: '{key}' words need a 'context:' list to look for",
                       "add 'context:' with the words that must appear in the same sentence")
        for k, (text, stems) in enumerate(phrases[key]):
            if stems in context_stems:
                check.fail(entry[key], k, f"{where}: '{text}' is in both '{key}' and 'context', "
                           "so it would always count", "remove it from one of the two lists")
    terms = ([Term(text, strong_w, stems=stems, strong=True) for text, stems in phrases["strong"]]
             + [Term(text, keyword_w, stems=stems) for text, stems in phrases["keywords"]]
             + [Term(text, keyword_w, stems=stems, needs_context=True) for text, stems in phrases["needs_context"]]
             + [Term(text, strong_w, stems=stems, needs_context=True, strong=True)
                for text, stems in phrases["strong_needs_context"]]
             + [Term(text, keyword_w, stems=stems, needs_states=True) for text, stems in phrases["needs_states"]]
             + [Term(text, keyword_w, regex=rx) for text, rx in regexes["patterns"]]
             + [Term(text, strong_w, regex=rx, strong=True) for text, rx in regexes["strong_patterns"]])
    if not terms and not entry.get("examples"):
        check.fail(entry, None, f"{where} has nothing to match",
                   "add 'examples:' (sentences about the topic) or at least one of 'strong:', 'keywords:', "
                   "'needs_context:', 'patterns:' or 'strong_patterns:'")
    return Topic(
        id=topic_id,
        label=label,
        iptc=iptc,
        threshold=_weight(check, entry, "threshold", where, scoring.threshold),
        terms=tuple(terms),
        context=tuple(tuple(map(tag_stem, _WORD.findall(text))) for text, _ in phrases["context"]),
        exclude=tuple(tuple(map(tag_stem, _WORD.findall(text))) for text, _ in phrases["exclude"]),
        exclude_patterns=tuple(rx for _, rx in regexes["exclude_patterns"]),
        description=check.string(entry, "description", where, required=False),
        needs_lead=check.boolean(entry, "needs_lead", where, default=scoring.needs_lead),
        context_window=int(check.number(entry, "context_window", where, default=0, minimum=0, maximum=5,
                                        integer=True)),
        yields_to=tuple(check.strings(entry, "yields_to", where)),
        examples=tuple(" ".join(e.split()) for e in check.strings(entry, "examples", where)),
        min_probability=_probability(check, entry, where, scoring.min_probability),
        broad=check.boolean(entry, "broad", where, default=False),
        line=entry.line,
    )


def parse_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate a topics file; the first mistake raises ConfigError with its line."""
    path = Path(path)
    data = load_yaml(path, what="topics file")
    check = Checker(path)
    if data is None:
        check.fail(None, None, "the file is empty", "add a 'topics:' list (see config/topics.yaml)")
    root = check.mapping(data, "the file")
    check.known_keys(root, _ROOT_KEYS, "the file")
    scoring = _scoring(check, root)
    states = _states(check, root)
    entries = check.sequence(root, "topics", "the file")
    if not entries:
        check.fail(root, "topics", "'topics' is empty", "add at least one topic")
    seen: dict[str, int] = {}
    topics = tuple(_topic(check, entries, i, scoring, seen, states) for i in range(len(entries)))
    for i, topic in enumerate(topics):
        for k, other in enumerate(topic.yields_to):
            if other not in seen or other == topic.id:
                check.fail(entries[i]["yields_to"], k,
                           f"topic '{topic.id}': 'yields_to' names {other!r}, which is not another topic of this file",
                           f"use one of: {', '.join(t for t in seen if t != topic.id)}")
    return Taxonomy(topics=topics, scoring=scoring, path=path, states=states)
