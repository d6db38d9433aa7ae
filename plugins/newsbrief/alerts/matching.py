"""Match many alerts against many articles without trying every pair.

Each alert is filed under its anchors (`query.anchors`): keys one of which every matching article
must hold (a stem, a title stem, a tag, a source, a language). An article is tried only against the
alerts filed under one of its keys, plus the few alerts that have no anchor (a pure exclusion).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from newsbrief.alerts.query import Document, anchors, document_keys, matches
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
        self.by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.always: list[int] = []
        for i, q in enumerate(self.queries):
            keys = anchors(q.root)
            if keys is None:
                self.always.append(i)
            else:
                for k in keys:
                    self.by_key[k].append(i)

    def match(self, candidates: list[Candidate]) -> dict[int, list[tuple[int, list[str]]]]:
        """alert position -> [(article_id, matched terms)] in the candidates' order."""
        out: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
        for c in candidates:
            tried: set[int] = set(self.always)
            for k in document_keys(c.doc):
                hit = self.by_key.get(k)
                if hit:
                    tried.update(hit)
            for i in tried:
                alert = self.alerts[i]
                if not alert.keeps(c.best_tag_score, c.story_size):
                    continue
                terms = matches(self.queries[i], c.doc)
                if terms is not None:
                    out[i].append((c.article_id, terms))
        return out


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
