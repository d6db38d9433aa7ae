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


def _blocked(unit: _Unit, topic: Topic) -> set[int]:
    blocked: set[int] = set()
    for phrase in topic.exclude:
        for i in unit.find(phrase):
            blocked.update(range(i, i + len(phrase)))
    for rx in topic.exclude_patterns:
        for m in rx.finditer(unit.text):
            blocked.update(k for k, (_, s, e) in enumerate(unit.words) if s < m.end() and e > m.start())
    return blocked


def _has_context(unit: _Unit, topic: Topic, blocked: set[int]) -> bool:
    return any(not blocked.intersection(range(i, i + len(phrase)))
               for phrase in topic.context for i in unit.find(phrase))


def _matches(unit: _Unit, topic: Topic, has_context: bool, blocked: set[int]) -> list[tuple[str, float, bool]]:
    """(term, weight, strong) for each non-overlapping match in one sentence, strongest and longest first."""
    taken = set(blocked)
    candidates: list[tuple[float, int, int, Term]] = []
    for term in topic.terms:
        if term.needs_context and not has_context:
            continue
        if term.regex is not None:
            for m in term.regex.finditer(unit.text):
                idx = [k for k, (_, s, e) in enumerate(unit.words) if s < m.end() and e > m.start()]
                if idx:
                    candidates.append((term.weight, len(idx), idx[0], term))
        elif term.stems[0] in unit.at:
            found = unit.find(term.stems)
            if found and term.needs_states and unit.states < 2:
                continue
            candidates.extend((term.weight, len(term.stems), i, term) for i in found)
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
    blocked = [_blocked(u, topic) for u in units]
    context = ([_has_context(u, topic, b) for u, b in zip(units, blocked, strict=True)] if topic.context
               else [False] * len(units))
    window = topic.context_window
    for index, unit in enumerate(units):
        weights = []
        near = any(context[max(0, index - window):index + window + 1])
        matches = _matches(unit, topic, near, blocked[index])
        strong_sentences += any(strong for _, _, strong in matches)
        for text, weight, _ in matches:
            seen[text] += 1
            weights.append(weight / seen[text])
        weights.sort(reverse=True)
        gained = min(sum(w / rank for rank, w in enumerate(weights, 1)), cap) * unit.weight
        if gained:
            per_unit.append((gained, index))
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
