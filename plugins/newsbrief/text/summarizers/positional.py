"""newsbrief's default scorer: TF-IDF centrality + title overlap, and for a short digest a lede prior and
directed centrality, then MMR.

How a sentence scores (all numbers are per article, so it needs no training data):

    digest = (1 - k/n) ** SHARPNESS
    score(i) = centrality(i) + TITLE * story_sim(i)
               + digest * (LEDE * exp(-i / DECAY) + DIRECTED * (directed(i) - centrality(i)))

* centrality(i): the sum of the TF-IDF cosine similarities of sentence i to every other sentence,
  divided by the article's maximum (LexRank's degree centrality, continuous, no threshold). A sentence
  sharing the article's key terms is what the article is about.
* story_sim(i): cosine similarity, in the same TF-IDF space, to headline + first sentence: together
  they state the story (a headline alone is often a pun or a teaser).
* digest: how much of a short digest this is. News is written as an inverted pyramid, so a 3-sentence
  digest of a 30-sentence story is mostly its lede, while a summary asked for 40% of an article
  (k/n = 0.4, digest ~0.02) must cover the body and is left to centrality.
* the lede prior: the first sentences carry the story (LEAD-3 is famously hard to beat on
  CNN/DailyMail).
* directed(i): PacSum's directed centrality (Zheng & Lapata 2019, see `directed_centrality`): similarity
  to the sentences that follow counts for a sentence, similarity to those before it counts against.
  As the digest weight grows it replaces undirected centrality (DIRECTED * digest exceeds 1 for a
  short digest of a long article), so among sentences near the top the one that introduces what the
  article goes on to say wins over one that recaps it; this is what lifts newsbrief past LEAD-3 on
  lead-biased references (bench/README.md).

The first sentence (the lede) is always picked first: it is the single best sentence in both data
sets we measure (in 77% of the BBC references; the publisher's standfirst mostly restates it), and a
short article must not lose it to a weak prior. Fragments with fewer than MIN_TERMS content words
("Well, sort of.") get no position prior and are never taken as the lede. The rest are taken greedily
by maximal marginal relevance (Carbonell & Goldstein 1998): the next pick maximises
score(i) - REDUNDANCY * max cosine to the picks so far, so a summary does not say the same thing twice.
The weights were chosen on the even-numbered BBC articles and the even half of the
publisher-standfirst set (see bench/README.md); the odd halves are held out.
"""

from __future__ import annotations

import math
import string
from functools import lru_cache

import numpy as np

from newsbrief.text.document import Article
from newsbrief.text.lexicon import TERMS

TITLE = 0.2
LEDE = 8.0
SHARPNESS = 8
DECAY = 1.25
DIRECTED = 12.0
BACKWARD = 0.5
REDUNDANCY = 0.3
MIN_TERMS = 2


_ASCII_SEPARATORS = string.punctuation.translate(str.maketrans("", "", "-'.,")).encode()
_ASCII_TABLE = bytes.maketrans(_ASCII_SEPARATORS, b" " * len(_ASCII_SEPARATORS))
_UNICODE_SEPARATORS = "“”‘«»—–…•·"


def _separate(text: str) -> str:
    """Punctuation to spaces. ASCII punctuation goes through a byte table on the UTF-8 encoding (safe:
    UTF-8 never uses ASCII bytes inside a multi-byte character), ten times faster than str.translate."""
    text = text.encode().translate(_ASCII_TABLE).decode()
    if not text.isascii():
        for mark in _UNICODE_SEPARATORS:
            if mark in text:
                text = text.replace(mark, " ")
    return text


def terms(text: str) -> list[str]:
    """Stemmed content words of a text (stop words dropped), with repeats.

    Punctuation other than word-inner . , - ' becomes space and the rest is split with str.split (a
    third of the cost of the regex tokenizer); "U.S." and "$1.13bn" stay one word each.
    """
    return [t for t in map(TERMS.__getitem__, _separate(text).split()) if t]


def tfidf(sentences: tuple[str, ...], title: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-length TF-IDF rows for the sentences and the title (IDF over this article's sentences),
    and the number of content words of each sentence. Columns follow first appearance (so results
    depend on nothing but the article), numbered in C by dict.fromkeys rather than a Python
    `__missing__` per new term."""
    stems: list[str] = []
    lengths: list[int] = []
    for line in _separate("\n".join(sentences)).split("\n"):
        before = len(stems)
        stems += filter(None, map(TERMS.__getitem__, line.split()))
        lengths.append(len(stems) - before)
    first_seen = dict.fromkeys(stems)
    vocab = dict(zip(first_seen, range(len(first_seen)), strict=True))
    n, size = len(sentences), max(len(vocab), 1)
    cols = np.fromiter(map(vocab.__getitem__, stems), np.intp, len(stems))
    cells = (np.arange(n) * size).repeat(lengths) + cols
    counts = np.bincount(cells, minlength=n * size).reshape(n, size).astype(float)
    idf = np.log((n + 1) / ((counts > 0).sum(axis=0) + 1)) + 1
    title_cols = [vocab[t] for t in terms(title) if t in vocab]
    title_vec = np.bincount(np.array(title_cols, dtype=np.intp), minlength=size) * idf
    title_norm = math.sqrt(title_vec.dot(title_vec)) or 1.0
    return _unit(counts * idf), title_vec / title_norm, np.array(lengths)


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1.0
    return matrix / norms[:, None]


@lru_cache(maxsize=512)
def _decay(n: int) -> np.ndarray:
    return np.exp(-np.arange(n) / DECAY)


@lru_cache(maxsize=512)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle indices, and how many sentences follow each one."""
    upper = np.triu_indices(n, 1)
    return upper[0], upper[1], np.arange(n - 1, -1, -1, dtype=float)


def directed_centrality(similarity: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """PacSum's position-aware centrality (Zheng & Lapata 2019), scaled to [0, 1]: edges to the
    sentences that follow count, edges to those before count against (BACKWARD), so a sentence that
    introduces what the article goes on to discuss outranks one that only recaps it. Edge weights are
    similarities above the article's smallest one (PacSum's threshold with beta = 0). `degree` is the
    row sum of `similarity` (zero diagonal); backward sums are degree minus forward sums."""
    n = len(similarity)
    if n < 2:
        return np.zeros(n)
    rows, cols, following = _pairs(n)
    upper = similarity[rows, cols]
    low = upper.min()
    forward = np.bincount(rows, weights=upper, minlength=n) - following * low
    backward = degree - (n - 1) * low - forward
    directed = forward - BACKWARD * backward
    bottom = directed.min()
    span = directed.max() - bottom
    return (directed - bottom) / span if span > 0 else np.zeros(n)


def scores(article: Article, count: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-sentence score, the sentence-by-sentence cosine matrix (for redundancy), and the lede: the
    first sentence with at least MIN_TERMS content words ("Well, sort of." is not a lede).

    Products are the arrays' own `.dot` and reductions their methods: for a few dozen sentences the
    cost is call overhead, and `np.einsum` or `np.argmax` cost 3 to 6 times the method call.
    """
    n = len(article.sentences)
    vectors, title_vec, lengths = tfidf(article.sentences, article.title)
    similarity = vectors.dot(vectors.T)
    similarity.flat[:: n + 1] = 0.0
    degree = similarity.sum(axis=1)
    top = degree.max()
    centrality = degree / top if top > 0 else degree
    informative = lengths >= MIN_TERMS
    digest = max(0.0, 1 - count / n) ** SHARPNESS
    story = title_vec + vectors[0]
    story_norm = math.sqrt(story.dot(story)) or 1.0
    score = centrality + TITLE * vectors.dot(story) / story_norm
    if digest > 0:
        score += LEDE * digest * _decay(n) * informative
        score += DIRECTED * digest * (directed_centrality(similarity, degree) - centrality)
    return score, similarity, int(informative.argmax()) if informative.any() else 0


def rank(article: Article, count: int) -> list[int]:
    """Indices of `count` sentences, best first: the lede, then MMR over `scores`."""
    score, similarity, first = scores(article, count)
    redundancy = np.zeros(len(score))
    gain = score
    picked: list[int] = []
    for _ in range(min(count, len(score))):
        best = int(gain.argmax()) if picked else first
        picked.append(best)
        np.maximum(redundancy, similarity[best], out=redundancy)
        gain = score - REDUNDANCY * redundancy
        gain[picked] = -math.inf
    return picked
