"""An article as the tagger's model sees it: its sentences, hashed word-stem features and term scores.

Built once per article and shared by every topic, so the cost grows with the article, not with the
taxonomy. Words are stemmed through a per-token cache (a news stream reuses a small vocabulary),
stop words dropped, numbers folded into shapes ("2-1" is a score line, "1987" a number), abbreviations into
one form ("U.S." and "US" are "US"; a line in capitals is read lower-cased), then every
unigram and bigram is hashed (crc32: the same ids in every process) into a fixed space, once as
itself and once more marked with its position when it stands in the title or the lead.
The topics' own terms from topics.yaml (strong words, keywords, context-bound words, exclusions)
give each topic a term score in the units of its threshold: the hand-written rules, kept as
high-precision inputs to the model.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from newsbrief.tagging.taxonomy import Taxonomy, Topic, stem, tag_stem
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
_PARTS = re.compile(r"[-–,]")
_ZONE_SALT = (0, 0x5BD1E995, 0x27D4EB2F)  # body, lead, title
BODY, LEAD, TITLE = 0, 1, 2
_RANK = operator.itemgetter(0, 1, 2)  # (-weight, -length, position) of a found term: heaviest, longest, first


def word_stems(token: str) -> tuple[str, ...]:
    """The stems of one token: a hyphenated compound gives its parts, a score line "<score>" and a
    number "<num>". Parts are stemmed lower-cased (`stem` lower-cases anyway), so "The" and "the"
    share one entry of its cache; an abbreviation is one form with or without its dots (`tag_stem`)."""
    if not token[0].isalpha():  # a score line or a number starts with a digit
        if _SCORE.fullmatch(token):
            return ("<score>",)
        if _NUMBER.fullmatch(token):
            return ("<num>",)
    if "-" in token or "–" in token or "," in token:
        return tuple(tag_stem(p) for p in _PARTS.split(token) if p)
    return (tag_stem(token),)


def stems_of(text: str) -> list[str]:
    return [s for token in _TOKEN.findall(text) for s in word_stems(token)]


class _TokenCache(dict):
    """token -> (`word_stems(token)`, the crc32 of those stems that are not stop words)."""

    def __missing__(self, token: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        stops = _stop_stems()
        stems = word_stems(token)
        value = self[token] = stems, tuple(zlib.crc32(w.encode("utf-8")) for w in stems if w not in stops)
        return value


class _ChunkCache(dict):
    """A whitespace-delimited chunk of text ("said,", "(Reuters)") -> (the stems of its tokens, the
    crc32 of those that are not stop words).

    No token spans whitespace, so `_TOKEN.findall` over a sentence gives the tokens of its chunks in
    order; a news stream repeats a small set of chunks, so an article costs one lookup from C per
    chunk (`map(cache.__getitem__, sentence.split())`), not a tokenization and a stemming."""

    MAX = 500_000

    def __missing__(self, chunk: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        tokens = _TOKEN.findall(chunk)
        if len(tokens) == 1:
            value = _TOKENS[tokens[0]]
        else:
            entries = list(map(_TOKENS.__getitem__, tokens))
            value = (tuple(itertools.chain.from_iterable(map(_STEMS_OF, entries))),
                     tuple(itertools.chain.from_iterable(map(_HASHES_OF, entries))))
        self[chunk] = value
        return value


_TOKENS = _TokenCache()
_CHUNKS = _ChunkCache()
_STEMS_OF = operator.itemgetter(0)
_HASHES_OF = operator.itemgetter(1)


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
    if len(_CHUNKS) > _ChunkCache.MAX:
        _CHUNKS.clear()
        _TOKENS.clear()
    chain = itertools.chain.from_iterable
    stems: list[list[str]] = []
    hashes: list[int] = []
    sizes: list[int] = []
    for sentence in sentences:
        entries = list(map(_CHUNKS.__getitem__, (sentence.lower() if sentence.isupper() else sentence).split()))
        stems.append(list(chain(map(_STEMS_OF, entries))))
        before = len(hashes)
        hashes.extend(chain(map(_HASHES_OF, entries)))
        sizes.append(len(hashes) - before)
    h = np.array(hashes, dtype=np.int64)
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

    @property
    def is_term(self) -> bool:
        return self.kind in ("strong", "keyword")


class TermIndex:
    """Every topic's phrases grouped by first stem, for one pass over an article's words: per first
    stem, its one-word phrases and, longest first, its longer phrases by stems (each in file order,
    terms apart from context and exclusion phrases)."""

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
        self._groups: dict[str, tuple[tuple | None, tuple]] = {}
        for w, phrases in self.table.items():
            by_length: dict[int, dict[tuple[str, ...], tuple[tuple, tuple]]] = {}
            for p in phrases:
                by_length.setdefault(len(p.stems), {}).setdefault(p.stems, []).append(p)
            for n, group in by_length.items():
                for k, v in group.items():
                    group[k] = (tuple((-p.weight, -n, p) for p in v if p.is_term), tuple(p for p in v if not p.is_term))
            single = by_length.pop(1, {}).get((w,))
            self._groups[w] = (single, tuple(by_length.items()))

    def scores(self, doc: Document) -> np.ndarray:
        """Each topic's term score over the first TERM_SENTENCES units, divided by its threshold (the
        rules' scale: 1.0 = they would tag), and, in `last_sentences`, what each topic's terms gained
        in each sentence: {topic: {sentence: gained}}. The n-gram features cover the whole article.

        In a sentence, an exclusion blocks its topic's terms over its words, a needs_context term
        counts only beside one of its topic's context words, and a topic's terms are taken heaviest
        (then longest, then first) first, never two over the same word."""
        scoring = self.taxonomy.scoring
        total = [0.0] * len(self.taxonomy.topics)
        seen: dict[tuple[int, tuple[str, ...]], int] = {}
        last: dict[int, dict[int, float]] = {}
        self.last_sentences = last
        position = {TITLE: scoring.title_weight, LEAD: scoring.lead_weight, BODY: 1.0}
        cap = scoring.sentence_cap
        starts, groups = self.starts, self._groups
        for k, words in enumerate(doc.stems[:TERM_SENTENCES]):
            first = starts.intersection(words)
            if not first:
                continue
            terms: list[tuple[float, int, int, _Phrase]] = []
            others: list[tuple[int, _Phrase]] = []
            for w in first:
                single, longer = groups[w]
                for i in (words.index(w),) if words.count(w) == 1 else _positions(words, w):
                    for n, by_stems in longer:
                        match = by_stems.get(tuple(words[i:i + n]))
                        if match is not None:
                            if match[0]:
                                terms += [(weight, length, i, p) for weight, length, p in match[0]]
                            if match[1]:
                                others += [(i, p) for p in match[1]]
                    if single is not None:
                        if single[0]:
                            terms += [(weight, length, i, p) for weight, length, p in single[0]]
                        if single[1]:
                            others += [(i, p) for p in single[1]]
            if not terms:
                continue
            blocked: dict[int, set[int]] = {}
            context: set[int] = set()
            for i, p in others:
                if p.kind == "exclude":
                    blocked.setdefault(p.topic, set()).update(range(i, i + len(p.stems)))
                else:
                    context.add(p.topic)
            if len(terms) > 1:
                terms.sort(key=_RANK)
            per_topic: dict[int, list[float]] = {}
            taken: dict[int, set[int]] = {}
            for _, _, i, p in terms:
                t = p.topic
                if p.needs_context and t not in context:
                    continue
                span = range(i, i + len(p.stems))
                if t in blocked and not blocked[t].isdisjoint(span):
                    continue
                if t in taken:
                    if not taken[t].isdisjoint(span):
                        continue
                    taken[t].update(span)
                else:
                    taken[t] = set(span)
                key = (t, p.stems)
                count = seen[key] = seen.get(key, 0) + 1
                per_topic.setdefault(t, []).append(p.weight / count)
            at = position[doc.zones[k]]
            for t, weights in per_topic.items():
                if len(weights) > 1:
                    weights.sort(reverse=True)
                    gained = min(sum(w / r for r, w in enumerate(weights, 1)), cap) * at
                else:
                    gained = min(weights[0], cap) * at
                total[t] += gained
                last.setdefault(t, {})[k] = gained
        ref = scoring.length_ref
        norm = math.sqrt(max(doc.body_sentences, ref / 4) / ref)
        return np.array(total) / norm / self.thresholds


def _positions(words: list[str], word: str) -> list[int]:
    out, i = [], -1
    try:
        while True:
            i = words.index(word, i + 1)
            out.append(i)
    except ValueError:
        return out


def term_features(relative: np.ndarray) -> np.ndarray:
    """(topics x TERM_FEATURES), or (sections x topics x TERM_FEATURES) for a 2-D `relative`: the term
    score (capped), whether it reaches the rules' threshold, and whether any term was found at all."""
    return np.stack([np.minimum(relative, 4.0) / 2, (relative >= 1.0).astype(float),
                     (relative > 0).astype(float)], axis=-1)


@lru_cache(maxsize=1)
def _stop_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in stop_words())


def _normal(phrase: str) -> tuple[str, ...]:
    return tuple(stems_of(phrase))


def topic_phrases(topic: Topic) -> list[str]:
    """The topic's words and phrases as text (for training a topic that has few examples)."""
    return [t.text for t in topic.terms if t.regex is None]
