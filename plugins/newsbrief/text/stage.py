"""The summary stage: each article's summary for an algorithm and length, computed once and stored."""

from __future__ import annotations

import logging

from sqlalchemy import select

from newsbrief.store import Article, Store, Summary
from newsbrief.text.summarize import DEFAULT_ALGORITHM, summarize

log = logging.getLogger(__name__)


def summarize_articles(store: Store, article_ids: list[int], *, algorithm: str = DEFAULT_ALGORITHM,
                       sentences: int = 3) -> list[int]:
    """Compute (or keep) each article's summary for this algorithm and length."""
    for article_id in article_ids:
        with store.session() as s:
            stored_summary(s, s.get(Article, article_id), algorithm, sentences)
    return article_ids


def stored_summary(session, article: Article, algorithm: str, sentences: int) -> list[str]:
    row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                Summary.sentences == sentences)).scalar_one_or_none()
    if row is None:
        text = summarize(article.text, title=article.title, sentences=sentences, algorithm=algorithm)
        if not text:
            log.warning("article %s (%s) has no sentence to summarize", article.id, article.origin)
        row = Summary(article_id=article.id, algorithm=algorithm, sentences=sentences, text=text)
        session.add(row)
        session.flush()
    return list(row.text)
