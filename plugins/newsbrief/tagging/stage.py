"""The tag stage: each article's tags replaced by the taxonomy's current verdict."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from newsbrief.store import Article, Store, Tag
from newsbrief.store.inserts import insert_new
from newsbrief.text.stage import BATCH, batches

log = logging.getLogger(__name__)


def tag_articles(store: Store, article_ids: list[int], taxonomy, *, batch: int = BATCH) -> list[int]:
    """Replace each article's tags with the taxonomy's current verdict (re-runs give the same rows).

    One transaction per batch of articles: their title and text read in one query (plain rows, no ORM
    objects), the old tags deleted and the new ones inserted in one Core statement."""
    from newsbrief.tagging import tag_article

    for ids in batches(article_ids, batch):
        with store.session() as s:
            by_id = {row.id: row for row in s.execute(select(Article.id, Article.title, Article.text)
                                                      .where(Article.id.in_(ids)))}
            missing = [i for i in ids if i not in by_id]
            if missing:
                log.warning("articles %s are no longer in the store: skipped", ", ".join(map(str, missing)))
            rows = []
            for article in (by_id[i] for i in ids if i in by_id):
                hits = tag_article(article.title, article.text, taxonomy)
                rows.extend({"article_id": article.id, "tag": h.tag, "label": h.label, "score": float(h.score),
                             "evidence": list(h.evidence)} for h in hits)
                if log.isEnabledFor(logging.INFO):
                    log.info("article %s tagged: %s", article.id, ", ".join(h.tag for h in hits) or "(no topic)")
            s.execute(delete(Tag.__table__).where(Tag.__table__.c.article_id.in_(ids)))
            insert_new(s, Tag.__table__, rows)
    return article_ids
