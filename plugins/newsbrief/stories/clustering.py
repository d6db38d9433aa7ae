"""Near-duplicate stories: the same news rewritten by several outlets becomes one cluster.

Exact copies are caught earlier (canonical URL, content hash). Rewrites share few exact sentences but
most of their names and key words, so each article is reduced to the set of its stemmed content words
(title and lead, where outlets agree most; figures such as amounts kept, digits split from units so
"$966mln" meets "$966 million"; CJK text as character bigrams), compared by Jaccard
similarity. MinHash signatures with LSH banding find candidate pairs without comparing every pair;
each candidate is then checked on the exact sets, so the threshold means what it says. A second,
stricter test on titles alone catches wire reposts whose teaser is just the headline (aggregators),
where the body sets differ in size too much for Jaccard to see the match.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np

DEFAULT_THRESHOLD = 0.3
TITLE_THRESHOLD = 0.6
SAME_SOURCE_THRESHOLD = 0.8
MIN_TITLE_FEATURES = 4
LEAD_WORDS = 120
MIN_FEATURES = 6
_PERMUTATIONS = 256
LSH_RECALL = 0.9
_PRIME = (1 << 61) - 1
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass
class Doc:
    id: int
    title: str
    text: str
    source: str | None = None
    key: str = ""  # a content tie-break (canonical URL, content hash): the store's ids depend on arrival order


@lru_cache(maxsize=1)
def _stemmer_and_stops():
    from sumy.nlp.stemmers import Stemmer
    from sumy.utils import get_stop_words

    stops = set(get_stop_words("english")) | {"said", "says", "say", "would", "could", "also", "new", "year",
                                              "years", "one", "two", "first", "last", "like", "just", "reuters",
                                              "bloomberg", "ap", "afp", "read", "more", "mr", "ms"}
    return Stemmer("english"), frozenset(stops)


def features(title: str, text: str, *, lead_words: int = LEAD_WORDS) -> frozenset[str]:
    """The comparable content of an article: stemmed content words of title and lead."""
    return _features(title, text, lead_words, len(_WORD.findall(title)))


def _features(title: str, text: str, lead_words: int, title_words: int) -> frozenset[str]:
    """`features` with the title's word count given: both feature sets of an article need it, so it is counted
    once. Only the start of a long body is matched: when it holds more words than needed, its first ones are
    the text's first ones (the next match began inside it, so none of them was cut short)."""
    lowered = f"{title}\n{text}".lower()
    wanted = max(lead_words + title_words, 0)
    head = lowered[:_HEAD_CHARS_PER_WORD * wanted + 64]
    words = _WORD.findall(head)
    if len(words) <= wanted and len(head) < len(lowered):
        words = _WORD.findall(lowered)
    del words[wanted:]
    if _CJK.search(lowered) is None:
        out = set(map(_TOKENS.__getitem__, words))
        out.discard("")
        return frozenset(out)
    out = set()
    for word in words:
        if _CJK.search(word):
            out.update(word[i:i + 2] for i in range(max(len(word) - 1, 1)))
        elif token := _TOKENS[word]:
            out.add(token)
    return frozenset(out)


class _Tokens(dict):
    """Word -> its feature ('' when it is none: a stop word, a short word, a single digit), computed once."""

    def __missing__(self, word: str) -> str:
        if len(self) > 200_000:
            self.clear()
        if word[0].isdigit():
            token = word.replace(",", ".") if len(word) >= 2 else ""
        else:
            stem, stops = _stemmer_and_stops()
            token = stem(word) if len(word) > 2 and word not in stops else ""
        self[word] = token
        return token


_TOKENS = _Tokens()
_HEAD_CHARS_PER_WORD = 12


def drop_source_boilerplate(sets: list[frozenset[str]], sources: Sequence[str | None],
                            *, share: float = 0.5, min_docs: int = 4) -> list[frozenset[str]]:
    """Remove words that most articles of the same source share: page furniture a feed copies into every
    entry ('Advertisement', 'Bookmark', 'FILE PHOTO') would otherwise make its unrelated articles look alike."""
    by_source: dict[str, list[int]] = {}
    for i, src in enumerate(sources):
        if src:
            by_source.setdefault(src, []).append(i)
    out = list(sets)
    for members in by_source.values():
        if len(members) < min_docs:
            continue
        counts = Counter(chain.from_iterable(sets[i] for i in members))
        common = {f for f, n in counts.items() if n >= share * len(members)}
        if common:
            for i in members:
                out[i] = sets[i] - common
    return out


def drop_common(sets: list[frozenset[str]], *, share: float = 0.02, min_docs: int = 20) -> list[frozenset[str]]:
    """Remove words found in a large share of all articles (document frequency): page furniture repeated
    across copies of one site under several feed names, and words too common to tell stories apart."""
    counts = Counter(chain.from_iterable(sets))
    limit = max(min_docs, share * len(sets))
    common = {f for f, n in counts.items() if n >= limit}
    return [feats - common for feats in sets] if common else list(sets)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


class MinHasher:
    """MinHash signatures over string sets (numpy, universal hashing); fixed seed so runs agree."""

    def __init__(self, permutations: int = _PERMUTATIONS, seed: int = 7):
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _PRIME, size=permutations, dtype=np.uint64)
        self.b = rng.integers(0, _PRIME, size=permutations, dtype=np.uint64)

    def signature(self, items: Iterable[str]) -> np.ndarray:
        hashes = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in items), dtype=np.uint64)
        if hashes.size == 0:
            return np.full(self.a.shape, np.iinfo(np.uint64).max, dtype=np.uint64)
        # (a*x + b) mod p with x < 2^32 and a < 2^61 may overflow uint64: the wrap-around is still a fixed
        # hash family, which is all MinHash needs.
        return _mod_prime(np.outer(hashes, self.a) + self.b).min(axis=0)

    def signatures(self, sets: Sequence[Iterable[str]], *, chunk: int = 4096) -> np.ndarray:
        """One row per set, equal to `signature` of each (non-empty sets), computed over chunks of the
        concatenated hashes so numpy works on big arrays instead of one small array per article."""
        sets = [list(items) for items in sets]
        codes = {item: zlib.crc32(item.encode("utf-8")) for item in set(chain.from_iterable(sets))}
        flat = list(map(codes.__getitem__, chain.from_iterable(sets)))
        lengths = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
        if not len(sets):
            return np.empty((0, self.a.size), dtype=np.uint64)
        if (lengths == 0).any():
            raise ValueError("signatures() needs non-empty sets")
        hashes = np.asarray(flat, dtype=np.uint64)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        out = np.empty((len(sets), self.a.size), dtype=np.uint64)
        first = 0
        while first < len(sets):
            last = int(np.searchsorted(ends, starts[first] + chunk, side="right"))
            last = max(last, first + 1)
            lo, hi = int(starts[first]), int(ends[last - 1])
            values = np.outer(self.a, hashes[lo:hi])
            values += self.b[:, None]
            values = _mod_prime(values)
            out[first:last] = np.minimum.reduceat(values, starts[first:last] - lo, axis=1).T
            first = last
        return out


def _mod_prime(values: np.ndarray) -> np.ndarray:
    """values % (2^61 - 1), in place, without integer division: x = hi * 2^61 + lo gives x = lo + hi (mod p)."""
    high = values >> np.uint64(61)
    values &= np.uint64(_PRIME)
    values += high
    np.subtract(values, np.uint64(_PRIME), out=values, where=values >= np.uint64(_PRIME))
    return values


def lsh_shape(cut: float, permutations: int = _PERMUTATIONS, recall: float = LSH_RECALL) -> tuple[int, int]:
    """(bands, rows) with the most rows per band that still finds a pair at similarity `cut` with probability
    >= recall: the S-curve's threshold then sits just below the cut, so pairs far below it (most of the window)
    rarely become candidates and the exact checks stay few; 1 - (1 - cut**rows)**bands is that probability."""
    best = (permutations, 1)
    for rows in range(1, permutations + 1):
        bands = permutations // rows
        if 1 - (1 - cut ** rows) ** bands < recall:
            break
        best = (bands, rows)
    return best


def candidate_pairs(signatures: Sequence[np.ndarray] | np.ndarray, bands: int,
                    rows: int | None = None) -> set[tuple[int, int]]:
    """Index pairs whose signatures agree on at least one band (LSH) of `rows` values.

    Each band's rows are sorted (numpy lexsort) so equal bands sit next to each other: buckets without a
    Python dict per band. Buckets of more than 200 are skipped (a shared boilerplate band, not a story)."""
    if len(signatures) < 2:
        return set()
    matrix = np.ascontiguousarray(signatures if isinstance(signatures, np.ndarray) else np.vstack(signatures))
    rows = rows or matrix.shape[1] // bands
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        block = matrix[:, band * rows:(band + 1) * rows]
        order = np.lexsort(block.T[::-1])
        ordered = block[order]
        changes = np.flatnonzero((ordered[1:] != ordered[:-1]).any(axis=1)) + 1
        bounds = np.concatenate(([0], changes, [len(order)]))
        sizes = np.diff(bounds)
        for k in np.flatnonzero((sizes > 1) & (sizes <= 200)):
            members = np.sort(order[bounds[k]:bounds[k + 1]]).tolist()
            pairs.update((members[x], members[y]) for x in range(len(members)) for y in range(x + 1, len(members)))
    return pairs


def similar_pairs(docs: Sequence[Doc], *, threshold: float = DEFAULT_THRESHOLD,
                  title_threshold: float = TITLE_THRESHOLD) -> dict[tuple[int, int], float]:
    """Index pairs (i < j) that pass the body or the title test, with their similarity.

    Two articles of the same source pair only when nearly identical (SAME_SOURCE_THRESHOLD): an outlet's
    series ("Day One/Day Two...") and daily briefings share most words but are different stories."""
    sources = [d.source for d in docs]
    counts = [len(_WORD.findall(d.title)) for d in docs]
    sets = drop_common(drop_source_boilerplate([_features(d.title, d.text, LEAD_WORDS, n)
                                                for d, n in zip(docs, counts, strict=True)], sources))
    titles = drop_common(drop_source_boilerplate([_features(d.title, "", 0, n)
                                                  for d, n in zip(docs, counts, strict=True)], sources))
    hasher = MinHasher()
    pairs: dict[tuple[int, int], float] = {}
    for feats, minimum, cut in ((sets, MIN_FEATURES, threshold), (titles, MIN_TITLE_FEATURES, title_threshold)):
        index = [i for i, f in enumerate(feats) if len(f) >= minimum]
        bands, rows = lsh_shape(cut)
        for x, y in candidate_pairs(hasher.signatures([feats[i] for i in index]), bands, rows):
            i, j = sorted((index[x], index[y]))
            sim = jaccard(feats[i], feats[j])
            same_source = sources[i] is not None and sources[i] == sources[j]
            if sim >= (max(cut, SAME_SOURCE_THRESHOLD) if same_source else cut):
                pairs[(i, j)] = max(sim, pairs.get((i, j), 0.0))
    return pairs


def cluster_docs(docs: Sequence[Doc], *, threshold: float = DEFAULT_THRESHOLD,
                 title_threshold: float = TITLE_THRESHOLD) -> list[list[int]]:
    """Groups of doc ids (size >= 2) that tell the same story: a function of the set of docs alone.

    Star clustering, not single link: each article joins a story only through its lead article, so A~B and
    B~C never chain unrelated A and C into one story. The docs are put in an order of their content first
    (title, text, source, then `key`), so the stories do not depend on the order the articles arrived in
    (parallel fetches) nor on the ids the store gave them; every later choice is by that order.
    """
    docs = sorted(docs, key=lambda d: (d.title, d.text, d.source or "", d.key, d.id))
    neighbours: dict[int, dict[int, float]] = {}
    for (i, j), sim in similar_pairs(docs, threshold=threshold, title_threshold=title_threshold).items():
        neighbours.setdefault(i, {})[j] = sim
        neighbours.setdefault(j, {})[i] = sim
    group_of: dict[int, int] = {}
    leaders: set[int] = set()
    for i in sorted(neighbours, key=lambda k: (-len(neighbours[k]), k)):
        if i in group_of:
            continue
        joinable = [(sim, -j) for j, sim in neighbours[i].items() if j in leaders]
        if joinable:
            group_of[i] = -max(joinable)[1]
            continue
        group_of[i] = i
        leaders.add(i)
        for j in neighbours[i]:
            if j not in group_of:
                group_of[j] = i
    groups: dict[int, list[int]] = {}
    for i, leader in group_of.items():
        groups.setdefault(leader, []).append(docs[i].id)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)
