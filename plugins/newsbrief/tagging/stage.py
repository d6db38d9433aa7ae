"""The tag stage: each article's tags replaced by the taxonomy's current verdict."""

from __future__ import annotations

import logging

from sqlalchemy import delete

from newsbrief.store import Article, Store, Tag

log = logging.getLogger(__name__)


def tag_articles(store: Store, article_ids: list[int], taxonomy) -> list[int]:
    """Replace each article's tags with the taxonomy's current verdict (re-runs give the same rows)."""
    from newsbrief.tagging import tag_article

    for article_id in article_ids:
        with store.session() as s:
            article = s.get(Article, article_id)
            hits = tag_article(article.title, article.text, taxonomy)
            s.execute(delete(Tag).where(Tag.article_id == article_id))
            for hit in hits:
                s.add(Tag(article_id=article_id, tag=hit.tag, label=hit.label, score=float(hit.score),
                          evidence=list(hit.evidence)))
            log.info("article %s tagged: %s", article_id, ", ".join(h.tag for h in hits) or "(no topic)")
    return article_ids
