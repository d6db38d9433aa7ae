"""Score an article against every topic and explain each tag with the sentences that triggered it.

A tag is evidence, not a guess. Each sentence adds its matched terms' weights (1, 1/2, 1/3... for
a second and third match in the same sentence, and for a term already seen earlier, so a list or
a repeated word cannot carry a topic), capped, times the weight of where it stands (title > lead
and section headings > body). Context-bound words ("strike", "insurgency") count only when a context
word ("missile") shares their sentence or, with a context_window, a neighbouring one, so a metaphor
("a backbench insurgency") stays out; exclusions ("trade union") blank their words out, also as
context. State-bound words ("warned", "talks") count only in a sentence naming two different states
of the taxonomy's gazetteer ("Iran warns U.S.", "Seoul urges Pyongyang"), so one government
speaking to another is told from a government speaking to its citizens. The sum is divided by
sqrt(sentences / length_ref), so a passing mention in a long feature scores lower than the same
mention in a short brief. A topic that is in neither the title, the lead
nor a heading is background: with needs_lead it scores 0 unless two sentences raise it with strong
words, and it counts at background_weight of its score.
A topic that yields_to another is dropped when that topic is tagged (and not dropped itself) and
clears its own threshold by a wider margin (score / threshold): a sanctions story about "economic
pressure" on a country is a sanctions story, not an economy story, and trade talks are trade
policy, not diplomacy.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from newsbrief.tagging.taxonomy import Scoring, States, Taxonomy, Term, Topic, word_spans
from newsbrief.text.document import strip_dateline
from newsbrief.text.furniture import is_boilerplate
from newsbrief.text.sentences import HEADING, segment, split_sentences


@dataclass(frozen=True)
class TagHit:
    tag: str
    label: str
    score: float
    evidence: list[str]


@dataclass(frozen=True)
class _Unit:
    """A sentence of the article (or its title, or a heading) with the weight of its position."""

    text: str
    weight: float
    words: list[tuple[str, int, int]]
    stems: tuple[str, ...] = ()
    at: dict[str, list[int]] | None = None
    lead: bool = False
    gazetteer: States | None = None

    @classmethod
    def of(cls, text: str, weight: float, *, lead: bool = False, states: States | None = None) -> _Unit:
        words = word_spans(text)
        at: dict[str, list[int]] = defaultdict(list)
        for i, (w, _, _) in enumerate(words):
            at[w].append(i)
        return cls(text, weight, words, tuple(w for w, _, _ in words), dict(at), lead, states)

    @cached_property
    def states(self) -> int:
        """How many different states the sentence names (its wire dateline left out); computed once,
        and only for a sentence holding a needs_states word."""
        return len(self.gazetteer.named(strip_dateline(self.text))) if self.gazetteer is not None else 0

    def find(self, phrase: tuple[str, ...]) -> list[int]:
        n = len(phrase)
        return [i for i in self.at.get(phrase[0], ()) if self.stems[i:i + n] == phrase]


def _units(title: str, text: str, taxonomy: Taxonomy) -> tuple[list[_Unit], int]:
    scoring, states = taxonomy.scoring, taxonomy.states
    units: list[_Unit] = []
    title = " ".join((title or "").split())
    if title:
        units.append(_Unit.of(title, scoring.title_weight, lead=True, states=states))
    body = 0
    for block in segment(text or ""):
        if block.kind == HEADING:
            if block.text != title and not is_boilerplate(block.text):
                units.append(_Unit.of(block.text, scoring.heading_weight, lead=True, states=states))
            continue
        for sentence in split_sentences(block.text):
            if (body == 0 and sentence == title) or is_boilerplate(sentence):
                continue
            lead = body < scoring.lead_sentences
            units.append(_Unit.of(sentence, scoring.lead_weight if lead else 1.0, lead=lead, states=states))
            body += 1
    return units, body


def _blocked(unit: _Unit, topic: Topic, index: _Index, patterns: bool = True) -> set[int]:
    blocked: set[int] = set()
    for phrase in index.exclude_in(unit):
        for i in unit.find(phrase):
            blocked.update(range(i, i + len(phrase)))
    if not patterns or (index.any_exclude is not None and not index.any_exclude.search(unit.text)):
        return blocked
    for rx in topic.exclude_patterns:
        for m in rx.finditer(unit.text):
            blocked.update(k for k, (_, s, e) in enumerate(unit.words) if s < m.end() and e > m.start())
    return blocked


def _has_context(unit: _Unit, index: _Index, blocked: set[int]) -> bool:
    return any(not blocked.intersection(range(i, i + len(phrase)))
               for phrase in index.context_in(unit) for i in unit.find(phrase))


@dataclass(frozen=True)
class _Index:
    """A topic's phrases grouped by their first stem, so a sentence looks up only the terms that can
    start at one of its words instead of trying every term of the topic: the same matches, in time
    that grows with the sentence rather than with the topic's word list."""

    terms: dict[str, tuple[Term, ...]]
    regexes: tuple[Term, ...]
    exclude: dict[str, tuple[tuple[str, ...], ...]]
    context: dict[str, tuple[tuple[str, ...], ...]]
    any_regex: re.Pattern | None = None
    any_exclude: re.Pattern | None = None

    @classmethod
    def of(cls, topic: Topic) -> _Index:
        def group(items, key):
            out: dict[str, list] = defaultdict(list)
            for item in items:
                out[key(item)].append(item)
            return {k: tuple(v) for k, v in out.items()}

        return cls(terms=group([t for t in topic.terms if t.regex is None], lambda t: t.stems[0]),
                   regexes=tuple(t for t in topic.terms if t.regex is not None),
                   exclude=group(topic.exclude, lambda p: p[0]),
                   context=group(topic.context, lambda p: p[0]),
                   any_regex=_any([t.regex for t in topic.terms if t.regex is not None]),
                   any_exclude=_any(list(topic.exclude_patterns)))

    @staticmethod
    def _pick(table: dict[str, tuple], unit: _Unit) -> list:
        return [item for stem in unit.at if stem in table for item in table[stem]]

    def exclude_in(self, unit: _Unit) -> list[tuple[str, ...]]:
        return self._pick(self.exclude, unit)

    def context_in(self, unit: _Unit) -> list[tuple[str, ...]]:
        return self._pick(self.context, unit)

    def terms_in(self, unit: _Unit) -> list[Term]:
        return self._pick(self.terms, unit)


_BACKREF = re.compile(r"\\\d|\(\?P=")


def _any(patterns: list[re.Pattern]) -> re.Pattern | None:
    """One expression that matches where any of the patterns would: a text it misses needs none of
    them tried. None (try each) when they cannot be joined safely (back-references renumber)."""
    if not patterns or any(_BACKREF.search(p.pattern) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)
    except re.error:
        return None


_INDEXES: dict[int, tuple[Topic, _Index]] = {}


def _index(topic: Topic) -> _Index:
    """The topic's index, built once per loaded topic (keyed by identity, the loaded Topic kept beside
    it so a recycled id is never mistaken for it)."""
    cached = _INDEXES.get(id(topic))
    if cached is None or cached[0] is not topic:
        cached = (topic, _Index.of(topic))
        _INDEXES[id(topic)] = cached
    return cached[1]


def _matches(unit: _Unit, topic: Topic, has_context: bool, blocked: set[int],
             index: _Index, patterns: bool = True) -> list[tuple[str, float, bool]]:
    """(term, weight, strong) for each non-overlapping match in one sentence, strongest and longest first."""
    taken = set(blocked)
    candidates: list[tuple[float, int, int, Term]] = []
    for term in index.terms_in(unit):
        if term.needs_context and not has_context:
            continue
        found = unit.find(term.stems)
        if found and term.needs_states and unit.states < 2:
            continue
        candidates.extend((term.weight, len(term.stems), i, term) for i in found)
    if not patterns or (index.any_regex is not None and not index.any_regex.search(unit.text)):
        regexes: tuple[Term, ...] = ()
    else:
        regexes = index.regexes
    for term in regexes:
        if term.needs_context and not has_context:
            continue
        for m in term.regex.finditer(unit.text):
            idx = [k for k, (_, s, e) in enumerate(unit.words) if s < m.end() and e > m.start()]
            if idx:
                candidates.append((term.weight, len(idx), idx[0], term))
    out = []
    for weight, length, start, term in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2])):
        span = set(range(start, start + length))
        if span & taken:
            continue
        taken |= span
        out.append((term.text, weight, term.strong))
    return out


def _score_topic(units: list[_Unit], topic: Topic, norm: float, scoring: Scoring,
                 max_evidence: int) -> tuple[float, list[str]]:
    cap, background = scoring.sentence_cap, scoring.background_weight
    seen: dict[str, int] = defaultdict(int)
    per_unit: list[tuple[float, int]] = []
    total = 0.0
    in_lead = False
    strong_sentences = 0
    index = _index(topic)
    joined = "\n".join(u.text for u in units) if index.any_regex or index.any_exclude else ""
    regexes = index.any_regex is None or index.any_regex.search(joined) is not None
    excludes = index.any_exclude is None or index.any_exclude.search(joined) is not None
    blocked = [_blocked(u, topic, index, excludes) for u in units]
    context = ([_has_context(u, index, b) for u, b in zip(units, blocked, strict=True)] if topic.context
               else [False] * len(units))
    window = topic.context_window
    for position, unit in enumerate(units):
        weights = []
        near = any(context[max(0, position - window):position + window + 1])
        matches = _matches(unit, topic, near, blocked[position], index, regexes)
        strong_sentences += any(strong for _, _, strong in matches)
        for text, weight, _ in matches:
            seen[text] += 1
            weights.append(weight / seen[text])
        weights.sort(reverse=True)
        gained = min(sum(w / rank for rank, w in enumerate(weights, 1)), cap) * unit.weight
        if gained:
            per_unit.append((gained, position))
            total += gained
            in_lead = in_lead or unit.lead
    if not in_lead:
        if topic.needs_lead and strong_sentences < 2:
            return 0.0, []
        total *= background
    best = sorted(per_unit, key=lambda p: (-p[0], p[1]))[:max_evidence]
    return total / norm, [units[i].text for _, i in best]


def _prepare(title: str, text: str, taxonomy: Taxonomy) -> tuple[list[_Unit], float]:
    """The article's units and its length divisor sqrt(sentences / length_ref), at least 0.5."""
    units, body = _units(title, text, taxonomy)
    ref = taxonomy.scoring.length_ref
    return units, math.sqrt(max(body, ref / 4) / ref)


def tag_article(title: str, text: str, taxonomy: Taxonomy, *, max_evidence: int = 3) -> list[TagHit]:
    """Tags whose score reaches their threshold, best first, each with up to max_evidence sentences."""
    units, norm = _prepare(title, text, taxonomy)
    hits, margin = [], {}
    for topic in taxonomy.topics:
        score, evidence = _score_topic(units, topic, norm, taxonomy.scoring, max_evidence)
        if score >= topic.threshold:
            hits.append(TagHit(tag=topic.id, label=topic.label, score=round(score, 3), evidence=evidence))
            margin[topic.id] = score / topic.threshold
    yields = {t.id: t.yields_to for t in taxonomy.topics}
    # widest margin first, so a topic only gives way to one that is kept itself: economy does not
    # yield to diplomacy when diplomacy has already given way to tariffs
    kept: list[TagHit] = []
    for h in sorted(hits, key=lambda h: -margin[h.tag]):
        if not any(k.tag in yields[h.tag] and margin[k.tag] > margin[h.tag] for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: (-h.score, h.tag))


def score_article(title: str, text: str, taxonomy: Taxonomy) -> dict[str, float]:
    """Every topic's score, thresholds ignored: what the benchmark and threshold tuning look at."""
    units, norm = _prepare(title, text, taxonomy)
    return {t.id: round(_score_topic(units, t, norm, taxonomy.scoring, 0)[0], 3) for t in taxonomy.topics}
