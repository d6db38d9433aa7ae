"""The tag stage: each article's tags replaced by the taxonomy's current verdict."""

from __future__ import annotations

import logging

from sqlalchemy import delete

from newsbrief.store import Article, Store, Tag
from newsbrief.store.inserts import insert_new
from newsbrief.text.stage import BATCH, batches, load_rows

log = logging.getLogger(__name__)


def tag_articles(store: Store, article_ids: list[int], taxonomy, *, batch: int = BATCH) -> list[int]:
    """Replace each article's tags with the taxonomy's current verdict (re-runs give the same rows).

    One transaction per batch of articles: their title and text read in one query (plain rows, no ORM
    objects), the old tags deleted and the new ones inserted in one Core statement."""
    from newsbrief.tagging import tag_article

    for ids in batches(article_ids, batch):
        with store.session() as s:
            rows = []
            for article in load_rows(s, ids, Article.id, Article.title, Article.text):
                hits = tag_article(article.title, article.text, taxonomy)
                rows.extend({"article_id": article.id, "tag": h.tag, "label": h.label, "score": float(h.score),
                             "evidence": list(h.evidence)} for h in hits)
                if log.isEnabledFor(logging.INFO):
                    log.info("article %s tagged: %s", article.id, ", ".join(h.tag for h in hits) or "(no topic)")
            s.execute(delete(Tag.__table__).where(Tag.__table__.c.article_id.in_(ids)))
            insert_new(s, Tag.__table__, rows)
    return article_ids
