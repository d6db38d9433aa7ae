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
from dataclasses import dataclass

import numpy as np

from newsbrief.tagging import model as tag_model
from newsbrief.tagging.examples import EXAMPLES_PATH, load_examples
from newsbrief.tagging.features import Document, TermIndex, document, featurize, term_features
from newsbrief.tagging.taxonomy import Taxonomy, Topic

log = logging.getLogger(__name__)


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

    def analyse(self, title: str, text: str) -> tuple[Document, np.ndarray, dict]:
        doc = document(title, text, self.taxonomy.scoring.lead_sentences)
        relative = self.index.scores(doc)
        z = doc.values @ self.W[doc.ids] + (term_features(relative) * self.V).sum(1) + self.b
        return doc, 1.0 / (1.0 + np.exp(-z)), self.index.last_sentences

    def evidence(self, doc: Document, k: int, term_sentences: dict[int, float], limit: int) -> list[str]:
        """The sentences whose features add most to topic k (its term matches included), best first."""
        if not doc.sentences or limit <= 0:
            return []
        score = np.bincount(doc.occ_sentence, weights=self.W[doc.occ_ids, k], minlength=len(doc.sentences))
        threshold = self.taxonomy.topics[k].threshold
        for s, gained in term_sentences.items():
            score[s] += gained / threshold
        order = sorted(range(len(doc.sentences)), key=lambda s: (-score[s], s))
        chosen = [s for s in order if score[s] > 0][:limit] or order[:1]
        return [doc.sentences[s] for s in chosen]

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
        hits = [TagHit(tag=topics[k].id, label=topics[k].label, score=round(float(p[k]), 3),
                       evidence=self.evidence(doc, k, terms.get(k, {}), max_evidence)) for k in kept]
        return sorted(hits, key=lambda h: (-h.score, h.tag))


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
