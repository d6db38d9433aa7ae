"""An article as the tagger's model sees it: its sentences, hashed word-stem features and term scores.

Built once per article and shared by every topic, so the cost grows with the article, not with the
taxonomy. Words are stemmed through a per-word cache (a news stream reuses a small vocabulary),
stop words dropped, numbers folded into shapes ("2-1" is a score line, "1987" a number), then every
unigram and bigram is hashed (crc32: the same ids in every process) into a fixed space, once as
itself and once more marked with its position when it stands in the title or the lead.
The topics' own terms from topics.yaml (strong words, keywords, context-bound words, exclusions)
give each topic a term score in the units of its threshold: the hand-written rules, kept as
high-precision inputs to the model.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from newsbrief.tagging.taxonomy import Taxonomy, Topic, stem
from newsbrief.text.furniture import is_boilerplate
from newsbrief.text.lexicon import stop_words
from newsbrief.text.sentences import HEADING, segment, split_line

HASH_BITS = 18
DIM = 1 << HASH_BITS
TERM_FEATURES = 3
TERM_SENTENCES = 40   # term scores read the title, headings and first sentences: where news puts its point
_TOKEN = re.compile(r"[^\W_]+(?:['’.,\-–][^\W_]+)*", re.UNICODE)
_SCORE = re.compile(r"\d{1,3}[-–]\d{1,3}")
_NUMBER = re.compile(r"[\d.,]+")
_ZONE_SALT = (0, 0x5BD1E995, 0x27D4EB2F)  # body, lead, title
BODY, LEAD, TITLE = 0, 1, 2


_WORDS: dict[str, tuple[str, ...]] = {}


def word_stems(token: str) -> tuple[str, ...]:
    """The stems of one token, cached: a hyphenated compound gives its parts, a score line "<score>"
    and a number "<num>"."""
    cached = _WORDS.get(token)
    if cached is not None:
        return cached
    if _SCORE.fullmatch(token):
        out: tuple[str, ...] = ("<score>",)
    elif _NUMBER.fullmatch(token):
        out = ("<num>",)
    else:
        parts = re.split(r"[-–,]", token) if any(c in token for c in "-–,") else [token]
        out = tuple(stem(p) for p in parts if p)
    if len(_WORDS) < 500_000:
        _WORDS[token] = out
    return out


def stems_of(text: str) -> list[str]:
    return [s for token in _TOKEN.findall(text) for s in word_stems(token)]


_STEMS: dict[str, tuple[str, ...]] = {}
_HASHES: dict[str, tuple[int, ...]] = {}


def _learn(tokens: set[str]) -> None:
    """Cache the stems of new tokens and the hashes of those that are not stop words."""
    stops = _stop_stems()
    if len(_STEMS) > 500_000:
        _STEMS.clear()
        _HASHES.clear()
    for token in tokens:
        stems = word_stems(token)
        _STEMS[token] = stems
        _HASHES[token] = tuple(zlib.crc32(w.encode("utf-8")) for w in stems if w not in stops)


@dataclass
class Document:
    """The article's sentences (title first, when there is one) and, per stem occurrence, its hash
    and sentence; features are (hash id, value) pairs, L2-normalised."""

    sentences: list[str]
    zones: list[int]
    stems: list[list[str]]
    ids: np.ndarray        # unique feature ids (sorted)
    values: np.ndarray     # their normalised values
    occ_ids: np.ndarray    # feature id of every occurrence
    occ_sentence: np.ndarray
    body_sentences: int
    sections: list[int]


def units(title: str, text: str, lead_sentences: int = 2) -> tuple[list[str], list[int], list[int]]:
    """The article's sentences with their zone (title, lead: headings and the first sentences, or
    body) and their section (a heading and the paragraphs under it, or one paragraph where there are
    no headings; the title is section 0); furniture (bylines, captions, share prompts) left out."""
    sentences, zones, sections = [], [], []
    title = " ".join((title or "").split())
    if title:
        sentences.append(title)
        zones.append(TITLE)
        sections.append(0)
    body = 0
    section, under_heading = 0, False
    for block in segment(text or ""):
        if block.kind == HEADING:
            if block.text != title and not is_boilerplate(block.text):
                section += 1
                under_heading = True
                sentences.append(block.text)
                zones.append(LEAD)
                sections.append(section)
            continue
        if not under_heading:
            section += 1
        under_heading = False
        for sentence in split_line(block.text):
            if (body == 0 and sentence == title) or is_boilerplate(sentence):
                continue
            sentences.append(sentence)
            zones.append(LEAD if body < lead_sentences else BODY)
            sections.append(section)
            body += 1
    return sentences, zones, sections


def document(title: str, text: str, lead_sentences: int = 2) -> Document:
    sentences, zones, sections = units(title, text, lead_sentences)
    return featurize(sentences, zones, sum(z != TITLE for z in zones), sections)


def featurize(sentences: list[str], zones: list[int], body: int, sections: list[int] | None = None) -> Document:
    stems: list[list[str]] = []
    hashes: list[int] = []
    sizes: list[int] = []
    chain = itertools.chain.from_iterable
    for sentence in sentences:
        tokens = _TOKEN.findall(sentence)
        new = set(tokens).difference(_STEMS)
        if new:
            _learn(new)
        stems.append(list(chain(map(_STEMS.__getitem__, tokens))))
        before = len(hashes)
        hashes.extend(chain(map(_HASHES.__getitem__, tokens)))
        sizes.append(len(hashes) - before)
    h = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
    s = np.repeat(np.arange(len(sentences), dtype=np.int64), sizes)
    same = s[:-1] == s[1:]
    grams = np.concatenate([h, ((h[:-1] * 0x01000193) ^ h[1:])[same] & 0xFFFFFFFF])
    at = np.concatenate([s, s[:-1][same]])
    zone = np.array(zones, dtype=np.int64)[at] if len(zones) else at
    marked = zone > 0
    salt = np.array(_ZONE_SALT, dtype=np.int64)[zone[marked]]
    occ = np.concatenate([grams, ((grams[marked] ^ salt) * 0x9E3779B1) & 0xFFFFFFFF]) & (DIM - 1)
    occ_sentence = np.concatenate([at, at[marked]])
    if occ.size:
        uniq, counts = np.unique(occ, return_counts=True)
        values = 1.0 + np.log(counts)
        values /= np.sqrt(np.dot(values, values))
    else:
        uniq, values = np.zeros(0, dtype=np.int64), np.zeros(0)
    sections = sections if sections is not None else [0] * len(sentences)
    return Document(sentences, zones, stems, uniq, values, occ, occ_sentence, body, sections)


@dataclass(frozen=True)
class _Phrase:
    stems: tuple[str, ...]
    topic: int
    kind: str     # strong, keyword, context, exclude
    weight: float
    needs_context: bool


class TermIndex:
    """Every topic's phrases grouped by first stem, for one pass over an article's words."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        table: dict[str, list[_Phrase]] = defaultdict(list)
        for k, topic in enumerate(taxonomy.topics):
            for term in topic.terms:
                if term.regex is not None or term.needs_states:
                    continue
                phrase = _normal(term.text)
                if phrase:
                    table[phrase[0]].append(_Phrase(phrase, k, "strong" if term.strong else "keyword", term.weight,
                                                    term.needs_context))
            for kind, phrases in (("context", topic.context), ("exclude", topic.exclude)):
                for stems_ in phrases:
                    if stems_:
                        table[stems_[0]].append(_Phrase(stems_, k, kind, 0.0, False))
        self.table = {k: tuple(sorted(v, key=lambda p: -len(p.stems))) for k, v in table.items()}
        self.starts = frozenset(self.table)
        self.thresholds = np.array([t.threshold for t in taxonomy.topics])

    def scores(self, doc: Document) -> np.ndarray:
        """Each topic's term score over the first TERM_SENTENCES units, divided by its threshold (the
        rules' scale: 1.0 = they would tag), and, in `last_sentences`, what each topic's terms gained
        in each sentence: {topic: {sentence: gained}}. The n-gram features cover the whole article."""
        scoring = self.taxonomy.scoring
        n = len(self.taxonomy.topics)
        total = np.zeros(n)
        seen: dict[tuple[int, tuple[str, ...]], int] = defaultdict(int)
        self.last_sentences: dict[int, dict[int, float]] = defaultdict(dict)
        position = {TITLE: scoring.title_weight, LEAD: scoring.lead_weight, BODY: 1.0}
        starts = self.starts
        for k, words in enumerate(doc.stems[:TERM_SENTENCES]):
            first = starts.intersection(words)
            if not first:
                continue
            found = [(i, p) for w in first for i in _positions(words, w) for p in self.table[w]
                     if tuple(words[i:i + len(p.stems)]) == p.stems]
            if not found:
                continue
            blocked: dict[int, set[int]] = defaultdict(set)
            context: set[int] = set()
            for i, p in found:
                if p.kind == "exclude":
                    blocked[p.topic].update(range(i, i + len(p.stems)))
                elif p.kind == "context":
                    context.add(p.topic)
            per_topic: dict[int, list[float]] = defaultdict(list)
            taken: dict[int, set[int]] = defaultdict(set)
            for i, p in sorted((f for f in found if f[1].kind in ("strong", "keyword")),
                               key=lambda f: (-f[1].weight, -len(f[1].stems), f[0])):
                span = set(range(i, i + len(p.stems)))
                if (p.needs_context and p.topic not in context) or span & blocked[p.topic] or span & taken[p.topic]:
                    continue
                taken[p.topic] |= span
                seen[(p.topic, p.stems)] += 1
                per_topic[p.topic].append(p.weight / seen[(p.topic, p.stems)])
            for t, weights in per_topic.items():
                weights.sort(reverse=True)
                gained = min(sum(w / r for r, w in enumerate(weights, 1)), scoring.sentence_cap) * position[doc.zones[k]]
                total[t] += gained
                self.last_sentences[t][k] = gained
        ref = scoring.length_ref
        norm = math.sqrt(max(doc.body_sentences, ref / 4) / ref)
        return total / norm / self.thresholds


def _positions(words: list[str], word: str) -> list[int]:
    out, i = [], -1
    try:
        while True:
            i = words.index(word, i + 1)
            out.append(i)
    except ValueError:
        return out


def term_features(relative: np.ndarray) -> np.ndarray:
    """(topics x TERM_FEATURES): the term score (capped), whether it reaches the rules' threshold, and
    whether any term was found at all."""
    return np.stack([np.minimum(relative, 4.0) / 2, (relative >= 1.0).astype(float),
                     (relative > 0).astype(float)], axis=1)


@lru_cache(maxsize=1)
def _stop_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in stop_words())


def _normal(phrase: str) -> tuple[str, ...]:
    return tuple(stems_of(phrase))


def topic_phrases(topic: Topic) -> list[str]:
    """The topic's words and phrases as text (for training a topic that has few examples)."""
    return [t.text for t in topic.terms if t.regex is None]
