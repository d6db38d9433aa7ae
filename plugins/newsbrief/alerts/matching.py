"""Match many alerts against many articles as set algebra over an inverted index.

The batch of articles is indexed once (stem, title stem, tag, source prefix, language prefix ->
the set of article positions holding it); each alert's query is then evaluated as intersections,
unions and differences of those sets, in C, instead of trying every alert on every article. Only
phrases are checked word by word, and only on the articles holding all their words. Which terms
matched (for the email and `preview`) is computed for the articles actually shown (`terms_of`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from newsbrief.alerts.query import And, Document, Filter, Node, Not, Or, Term, document_keys, matches
from newsbrief.alerts.spec import Alert
from newsbrief.store.schema import Article, Tag


@dataclass(frozen=True)
class Candidate:
    """An article as alerts see it: its document plus what `quality: best` looks at."""

    article_id: int
    doc: Document
    best_tag_score: float = 0.0
    story_size: int = 1


class AlertIndex:
    def __init__(self, alerts: list[Alert]):
        self.alerts = list(alerts)
        self.queries = [a.full_query for a in self.alerts]

    def match_ids(self, candidates: list[Candidate]) -> dict[int, list[int]]:
        """alert position -> matching article ids, in the candidates' order."""
        postings: dict[tuple[str, str], set[int]] = defaultdict(set)
        for pos, c in enumerate(candidates):
            for key in document_keys(c.doc):
                postings[key].add(pos)
        universe = frozenset(range(len(candidates)))
        best = frozenset(i for i, c in enumerate(candidates)
                         if Alert(id="_", email="_", quality="best").keeps(c.best_tag_score, c.story_size))
        empty: frozenset[int] = frozenset()
        out: dict[int, list[int]] = {}
        for i, q in enumerate(self.queries):
            hits = _eval(q.root, postings, universe, candidates, empty)
            if self.alerts[i].quality == "best":
                hits = hits & best
            if hits:
                out[i] = [candidates[p].article_id for p in sorted(hits)]
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
    if isinstance(node, Term):
        kind = "t" if node.field == "intitle" else "w"
        sets = [postings.get((kind, s), empty) for s in node.stems]
        hits = set.intersection(*map(set, sets)) if len(sets) > 1 else sets[0]
        if len(node.stems) > 1:
            hits = {p for p in hits if candidates[p].doc.has(node.stems, node.field == "intitle")}
        return hits
    if isinstance(node, Filter):
        return postings.get((node.field, node.value), empty)
    if isinstance(node, Not):
        return universe - _eval(node.child, postings, universe, candidates, empty)
    if isinstance(node, Or):
        out: set[int] = set()
        for c in node.children:
            out |= _eval(c, postings, universe, candidates, empty)
        return out
    assert isinstance(node, And)
    positives = [c for c in node.children if not isinstance(c, Not)]
    negatives = [c.child for c in node.children if isinstance(c, Not)]
    if positives:
        sets = sorted((_eval(c, postings, universe, candidates, empty) for c in positives), key=len)
        hits = set(sets[0])
        for s in sets[1:]:
            if not hits:
                break
            hits &= s
    else:
        hits = set(universe)
    for c in negatives:
        if not hits:
            break
        hits -= _eval(c, postings, universe, candidates, empty)
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
