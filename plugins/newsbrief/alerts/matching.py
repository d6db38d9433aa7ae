"""Match many alerts against many articles as set algebra over an inverted index.

The alerts are compiled once into the keys their queries can ask about (word stems, title stems,
tags, source and language prefixes). A batch of articles is then indexed on those keys only (each
article's stem set intersected with the alerts' stems, in C), and each query is evaluated as
intersections, unions and differences of the posting sets instead of trying every alert on every
article. Only phrases are checked word by word, and only on the articles holding all their words.
Which terms matched (for the email and `preview`) is computed for the articles actually shown
(`terms_of`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from newsbrief.alerts.query import And, Document, Filter, Node, Not, Or, Term, matches
from newsbrief.alerts.spec import BEST_MIN_STORY_SIZE, BEST_MIN_TAG_SCORE, Alert
from newsbrief.store.schema import Article, Tag

_KINDS = ("w", "t", "tag", "source", "lang")


@dataclass(frozen=True)
class Candidate:
    """An article as alerts see it: its document plus what `quality: best` looks at."""

    article_id: int
    doc: Document
    best_tag_score: float = 0.0
    story_size: int = 1


def _keys(node: Node, out: dict[str, set[str]]) -> None:
    if isinstance(node, Term):
        out["t" if node.field == "intitle" else "w"].update(node.stems)
    elif isinstance(node, Filter):
        out[node.field].add(node.value)
    elif isinstance(node, Not):
        _keys(node.child, out)
    else:
        for c in node.children:
            _keys(c, out)


def _prefixes(value: str, sep: str) -> list[str]:
    parts = value.split(sep)
    return [sep.join(parts[:i]) for i in range(1, len(parts) + 1)] if value else []


class AlertIndex:
    def __init__(self, alerts: list[Alert]):
        self.alerts = list(alerts)
        self.queries = [a.full_query for a in self.alerts]
        wanted: dict[str, set[str]] = {k: set() for k in _KINDS}
        for q in self.queries:
            _keys(q.root, wanted)
        self.wanted = {k: frozenset(v) for k, v in wanted.items()}

    def postings(self, candidates: list[Candidate]) -> dict[tuple[str, str], set[int]]:
        """(kind, value) -> positions of the candidates holding it, for the keys the alerts use."""
        lists: dict[tuple[str, str], list[int]] = defaultdict(list)
        words, titles, tags = self.wanted["w"], self.wanted["t"], self.wanted["tag"]
        sources, langs = self.wanted["source"], self.wanted["lang"]
        per_kind = {k: defaultdict(list) for k in _KINDS}
        w, t, g = per_kind["w"], per_kind["t"], per_kind["tag"]
        for pos, c in enumerate(candidates):
            doc = c.doc
            for s in doc.words & words:
                w[s].append(pos)
            if titles:
                for s in doc.title_words & titles:
                    t[s].append(pos)
            if tags:
                for s in doc.tags & tags:
                    g[s].append(pos)
            if sources and doc.source:
                for s in _prefixes(doc.source, " "):
                    if s in sources:
                        per_kind["source"][s].append(pos)
            if langs and doc.language:
                for s in _prefixes(doc.language, "-"):
                    if s in langs:
                        per_kind["lang"][s].append(pos)
        for kind, table in per_kind.items():
            for value, positions in table.items():
                lists[(kind, value)] = positions
        return {key: set(v) for key, v in lists.items()}

    def match_ids(self, candidates: list[Candidate]) -> dict[int, list[int]]:
        """alert position -> matching article ids, in the candidates' order."""
        postings = self.postings(candidates)
        universe = frozenset(range(len(candidates)))
        best = frozenset(i for i, c in enumerate(candidates)
                         if c.best_tag_score >= BEST_MIN_TAG_SCORE or c.story_size >= BEST_MIN_STORY_SIZE)
        ids = [c.article_id for c in candidates]
        at = ids.__getitem__
        empty: frozenset[int] = frozenset()
        out: dict[int, list[int]] = {}
        for i, q in enumerate(self.queries):
            hits = _eval(q.root, postings, universe, candidates, empty)
            if self.alerts[i].quality == "best":
                hits = hits & best
            if hits:
                out[i] = list(map(at, sorted(hits)))
        return out

    def match(self, candidates: list[Candidate], *, limit: int | None = None) -> dict[int, list[tuple[int, list[str]]]]:
        """alert position -> [(article_id, matched terms)], the first `limit` per alert (default: the
        alert's cap) in the candidates' order."""
        by_id = {c.article_id: c for c in candidates}
        out = {}
        for i, ids in self.match_ids(candidates).items():
            n = limit if limit is not None else self.alerts[i].cap
            out[i] = [(aid, self.terms_of(i, by_id[aid])) for aid in ids[:n]]
        return out

    def terms_of(self, i: int, candidate: Candidate) -> list[str]:
        return matches(self.queries[i], candidate.doc) or []


def _eval(node: Node, postings, universe, candidates, empty) -> frozenset[int] | set[int]:
    """The positions matching `node`; never mutates a posting set (results may be one)."""
    if isinstance(node, Term):
        kind = "t" if node.field == "intitle" else "w"
        sets = sorted((postings.get((kind, s), empty) for s in node.stems), key=len)
        if len(sets) == 1:
            return sets[0]
        hits = sets[0].intersection(*sets[1:])
        return {p for p in hits if candidates[p].doc.has(node.stems, node.field == "intitle")}
    if isinstance(node, Filter):
        return postings.get((node.field, node.value), empty)
    if isinstance(node, Not):
        return universe - _eval(node.child, postings, universe, candidates, empty)
    if isinstance(node, Or):
        parts = [_eval(c, postings, universe, candidates, empty) for c in node.children]
        return set().union(*parts)
    assert isinstance(node, And)
    positives = [c for c in node.children if not isinstance(c, Not)]
    negatives = [c.child for c in node.children if isinstance(c, Not)]
    if positives:
        sets = sorted((_eval(c, postings, universe, candidates, empty) for c in positives), key=len)
        hits = sets[0]
        for s in sets[1:]:
            if not hits:
                break
            hits = hits & s
    else:
        hits = universe
    for c in negatives:
        if not hits:
            break
        hits = hits - _eval(c, postings, universe, candidates, empty)
    return hits


def candidates_from_store(session, article_ids: list[int] | None = None) -> list[Candidate]:
    """Stored articles (all, or the given ids) as candidates, newest first."""
    q = select(Article)
    if article_ids is not None:
        q = q.where(Article.id.in_(article_ids))
    articles = list(session.execute(q.order_by(Article.ingested_at.desc(), Article.id.desc())).scalars())
    ids = [a.id for a in articles]
    tags: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for aid, tag, score in session.execute(select(Tag.article_id, Tag.tag, Tag.score).where(Tag.article_id.in_(ids))):
        tags[aid].append((tag, score))
    clusters = {a.cluster_id for a in articles if a.cluster_id is not None}
    sizes = dict(session.execute(select(Article.cluster_id, func.count(func.distinct(Article.origin))).where(
        Article.cluster_id.in_(clusters)).group_by(Article.cluster_id)).all()) if clusters else {}
    return [Candidate(a.id, Document.of(a.title, a.text, source=a.source, language=a.language,
                                        tags=[t for t, _ in tags[a.id]]),
                      max((s for _, s in tags[a.id]), default=0.0), sizes.get(a.cluster_id, 1))
            for a in articles]
