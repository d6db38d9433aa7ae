"""The summary stage: each article's summary for an algorithm and length, computed once and stored."""

from __future__ import annotations

import logging

from sqlalchemy import insert, select
from sqlalchemy.orm import load_only

from newsbrief.store import Article, Store, Summary
from newsbrief.text.summarize import DEFAULT_ALGORITHM, summarize

log = logging.getLogger(__name__)

BATCH = 500


def batches(ids: list[int], size: int = BATCH):
    """The ids in order, each once, in chunks: one query and one transaction per chunk, not per article."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), size):
        yield unique[start:start + size]


def load_articles(session, ids: list[int]) -> list[Article]:
    """The articles of these ids in the order given (one query); an id no longer stored is logged and skipped."""
    rows = session.execute(select(Article).options(load_only(Article.id, Article.title, Article.text,
                                                             Article.origin))
                           .where(Article.id.in_(ids))).scalars()
    by_id = {a.id: a for a in rows}
    missing = [i for i in ids if i not in by_id]
    if missing:
        log.warning("articles %s are no longer in the store: skipped", ", ".join(map(str, missing)))
    return [by_id[i] for i in ids if i in by_id]


def summarize_articles(store: Store, article_ids: list[int], *, algorithm: str = DEFAULT_ALGORITHM,
                       sentences: int = 3, batch: int = BATCH) -> list[int]:
    """Compute (or keep) each article's summary for this algorithm and length."""
    for ids in batches(article_ids, batch):
        with store.session() as s:
            known = set(s.scalars(select(Summary.article_id).where(
                Summary.article_id.in_(ids), Summary.algorithm == algorithm, Summary.sentences == sentences)))
            todo = [i for i in ids if i not in known]
            if not todo:
                continue
            rows = [{"article_id": a.id, "algorithm": algorithm, "sentences": sentences,
                     "text": _summary_text(a, algorithm, sentences)} for a in load_articles(s, todo)]
            if rows:
                s.execute(insert(Summary), rows)
    return article_ids


def _summary_text(article: Article, algorithm: str, sentences: int) -> list[str]:
    text = summarize(article.text, title=article.title, sentences=sentences, algorithm=algorithm)
    if not text:
        log.warning("article %s (%s) has no sentence to summarize", article.id, article.origin)
    return text


def stored_summary(session, article: Article, algorithm: str, sentences: int) -> list[str]:
    row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                Summary.sentences == sentences)).scalar_one_or_none()
    if row is None:
        row = Summary(article_id=article.id, algorithm=algorithm, sentences=sentences,
                      text=_summary_text(article, algorithm, sentences))
        session.add(row)
        session.flush()
    return list(row.text)
