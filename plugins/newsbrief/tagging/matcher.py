"""Tag an article with the topics of the taxonomy and explain each tag with the sentences that earned it.

A tag is a probability from the topic's model (newsbrief.tagging.model) over the article's word-stem
features and its topics.yaml term score, kept when it reaches the topic's min_probability. Its
evidence is the article's sentences whose features add most to that topic's score (the title
included), so a reader sees why. A topic that yields_to another is dropped when that topic is kept
and clears its own cut by a wider margin (probability / min_probability): a sanctions story about
"economic pressure" is a sanctions story, not an economy story.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np

from newsbrief.tagging import model as tag_model
from newsbrief.tagging.examples import EXAMPLES_PATH, load_examples
from newsbrief.tagging.features import Document, TermIndex, document, featurize, term_features
from newsbrief.tagging.taxonomy import Taxonomy, Topic

log = logging.getLogger(__name__)

SECTION_SENTENCES = 3
SECTION_WEIGHT = 1.0


@dataclass(frozen=True)
class TagHit:
    tag: str
    label: str
    score: float
    evidence: list[str]


class Tagger:
    """The taxonomy compiled for tagging: its term index and one weight column per topic."""

    def __init__(self, taxonomy: Taxonomy, weights: tag_model.Weights | None = None):
        self.taxonomy = taxonomy
        self.index = TermIndex(taxonomy)
        base = weights if weights is not None else _shipped()
        known = [t for t in taxonomy.topics if base is not None and t.id in base.topics]
        missing = [t for t in taxonomy.topics if t not in known]
        cols = [base.column(t.id) for t in known] if base is not None else []
        W = np.zeros((tag_model.DIM, len(taxonomy.topics)), dtype=np.float32)
        V = np.zeros((len(taxonomy.topics), tag_model.TERM_FEATURES))
        b = np.zeros(len(taxonomy.topics))
        order = {t.id: k for k, t in enumerate(taxonomy.topics)}
        for topic, c in zip(known, cols, strict=True):
            k = order[topic.id]
            W[:, k], V[k], b[k] = base.W[:, c], base.V[c], base.b[c]
        if missing:
            extra = train_topics(taxonomy, missing, self.index)
            for j, topic in enumerate(missing):
                k = order[topic.id]
                W[:, k], V[k], b[k] = extra.W[:, j], extra.V[j], extra.b[j]
        self.W, self.V, self.b = W, V, b
        self.cut = np.array([t.min_probability for t in taxonomy.topics])
        self.thresholds = [t.threshold for t in taxonomy.topics]

    def analyse(self, title: str, text: str) -> tuple[Document, np.ndarray, dict]:
        doc = document(title, text, self.taxonomy.scoring.lead_sentences)
        relative = self.index.scores(doc)
        z = doc.values @ self.W[doc.ids] + (term_features(relative) * self.V).sum(1) + self.b
        p = 1.0 / (1.0 + np.exp(-z))
        if doc.sections and doc.sections[-1] >= 2 and _separate_sections(doc.sections):
            p = np.maximum(p, self.section_probability(doc))
        return doc, p, self.index.last_sentences

    def section_probability(self, doc: Document) -> np.ndarray:
        """Each topic's best probability over the article's sections of at least SECTION_SENTENCES
        sentences, times SECTION_WEIGHT: a topic that is the subject of one section of a long
        article (a heading and its paragraph on trade in a war report) is a topic of the article."""
        sec = np.asarray(doc.sections)
        sizes = np.bincount(sec)
        eligible = np.flatnonzero(sizes >= SECTION_SENTENCES)
        eligible = eligible[eligible > 0]
        if eligible.size == 0 or eligible.size == 1 and sizes[eligible[0]] == sizes[1:].sum():
            return np.zeros(len(self.b))
        occ_sec = sec[doc.occ_sentence]
        counts = np.bincount(occ_sec, minlength=sizes.size).astype(float)
        topics = len(self.b)
        # one bincount over (section, topic) cells: each cell sums its occurrences in the same order
        # as a bincount per topic would, so the sums are the same to the bit
        cells = (occ_sec[:, None] * topics + np.arange(topics)).ravel()
        z = np.bincount(cells, weights=self.W[doc.occ_ids].ravel(), minlength=sizes.size * topics)
        z = z.reshape(sizes.size, topics)
        relative = np.zeros((sizes.size, topics))
        for k, gained in self.index.last_sentences.items():
            for sentence, g in gained.items():
                relative[sec[sentence], k] += g / self.thresholds[k]
        terms = term_features(relative[eligible])
        z = (z[eligible] / np.sqrt(np.maximum(counts[eligible], 1.0))[:, None] + (terms * self.V).sum(2) + self.b)
        return SECTION_WEIGHT / (1.0 + np.exp(-z.max(axis=0)))

    def evidence(self, doc: Document, kept: list[int], terms: dict[int, dict[int, float]],
                 limit: int) -> dict[int, list[str]]:
        """For each kept topic, the sentences whose features add most to its score (its term matches
        included), best first; the best one at least, so no tag goes unexplained."""
        n = len(doc.sentences)
        if not kept or limit <= 0:
            return {k: [] for k in kept}
        occ = self.W[doc.occ_ids][:, kept]
        size = np.sqrt(np.maximum(np.bincount(doc.occ_sentence, minlength=n), 1))
        out = {}
        for j, k in enumerate(kept):
            # per sqrt(features), so a long sentence does not win by length alone
            score = np.bincount(doc.occ_sentence, weights=occ[:, j], minlength=n) / size
            for s, gained in terms.get(k, {}).items():
                score[s] += gained / self.thresholds[k]
            order = np.argsort(-score, kind="stable")[:limit]
            chosen = [int(s) for s in order if score[s] > 0] or [int(order[0])]
            out[k] = [doc.sentences[s] for s in chosen]
        return out

    def tag(self, title: str, text: str, max_evidence: int = 3) -> list[TagHit]:
        doc, p, terms = self.analyse(title, text)
        if not doc.sentences:
            return []
        topics = self.taxonomy.topics
        margin = p / self.cut
        hit = [k for k in range(len(topics)) if p[k] >= self.cut[k]]
        kept: list[int] = []
        for k in sorted(hit, key=lambda k: (-margin[k], k)):
            if not any(topics[j].id in topics[k].yields_to and margin[j] > margin[k] for j in kept):
                kept.append(k)
        evidence = self.evidence(doc, kept, terms, max_evidence)
        hits = [TagHit(tag=topics[k].id, label=topics[k].label, score=round(float(p[k]), 3), evidence=evidence[k])
                for k in kept]
        return sorted(hits, key=lambda h: (-h.score, h.tag))


def _separate_sections(sections: list[int]) -> bool:
    """Whether a section besides the title has SECTION_SENTENCES sentences or more and is not the whole
    body: only then can `Tagger.section_probability` add anything (checked in Python, as most articles
    have only short paragraphs)."""
    sizes = Counter(sections)
    eligible = [n for s, n in sizes.items() if s > 0 and n >= SECTION_SENTENCES]
    return bool(eligible) and not (len(eligible) == 1 and eligible[0] == len(sections) - sizes.get(0, 0))


def train_topics(taxonomy: Taxonomy, topics: list[Topic], index: TermIndex) -> tag_model.Weights:
    """Weights for topics the shipped model does not know: their own examples, description and terms
    are the positives; the shipped example sentences (all about other things) the negatives."""
    log.warning("topics %s are not in the shipped tag model: trained from their examples and terms now "
                "(run `make tag-model` to build them into %s)", ", ".join(t.id for t in topics), tag_model.MODEL_PATH)
    ids = {t.id for t in topics}
    samples = []

    def add(text: str, labels: frozenset[str], weight: float = 1.0) -> None:
        doc = featurize([text], [2], 1)
        samples.append(tag_model.Sample(doc, term_features(index.scores(doc)), labels, weight))

    for topic in topics:
        for text in topic.examples:
            add(text, frozenset([topic.id]))
        if topic.description:
            add(topic.description, frozenset([topic.id]))
        for term in topic.terms:
            if term.regex is None:
                add(term.text, frozenset([topic.id]), 0.5)
    if EXAMPLES_PATH.exists():
        for text, tags in load_examples(EXAMPLES_PATH).sentences:
            add(text, frozenset(tags & ids))
    order = {t.id: k for k, t in enumerate(taxonomy.topics)}
    return tag_model.fit(samples, [t.id for t in topics], columns=[order[t.id] for t in topics])


_SHIPPED: list = []


def _shipped() -> tag_model.Weights | None:
    if not _SHIPPED:
        try:
            _SHIPPED.append(tag_model.load())
        except FileNotFoundError:
            log.warning("no tag model at %s (run `make tag-model`): every topic is trained from its "
                        "examples and terms", tag_model.MODEL_PATH)
            _SHIPPED.append(None)
    return _SHIPPED[0]


_TAGGERS: dict[int, tuple[Taxonomy, Tagger]] = {}


def tagger_for(taxonomy: Taxonomy) -> Tagger:
    """The taxonomy's tagger, built once per loaded taxonomy (keyed by identity, the taxonomy kept
    beside it so a recycled id is never mistaken for it)."""
    cached = _TAGGERS.get(id(taxonomy))
    if cached is None or cached[0] is not taxonomy:
        cached = (taxonomy, Tagger(taxonomy))
        _TAGGERS[id(taxonomy)] = cached
    return cached[1]


def tag_article(title: str, text: str, taxonomy: Taxonomy, *, max_evidence: int = 3) -> list[TagHit]:
    """Tags whose probability reaches the topic's min_probability, best first, each with up to
    max_evidence sentences of the article."""
    return tagger_for(taxonomy).tag(title, text, max_evidence)


def score_article(title: str, text: str, taxonomy: Taxonomy) -> dict[str, float]:
    """Every topic's probability, cuts ignored: what the benchmark and cut tuning look at."""
    _, p, _ = tagger_for(taxonomy).analyse(title, text)
    return {t.id: round(float(p[k]), 3) for k, t in enumerate(taxonomy.topics)}
