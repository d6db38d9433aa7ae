"""Search on the compose store's PostgreSQL: the planner answers from 0005_search_index's GIN index, and
each hit says why it matched."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from newsbrief.store import Article, Store
from newsbrief.web.search import PG_DOCUMENT, search
from tests.store.postgres import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_store():
    with fresh_database("nb_search") as url:
        store = Store(url)
        rows = [{"content_hash": f"{n:064d}", "source_kind": "feed", "source": "Wire" if n % 2 else "Desk",
                 "origin": "test", "title": f"Report {n} on harvests", "text": f"Farmers reported the harvest {n}. "
                 "Prices held steady across the region and the weather stayed dry.", "flags": [], "topics_hint": []}
                for n in range(5000)]
        rows[17]["title"], rows[4242]["text"] = "Steel tariffs raised", "Governments raised tariffs on steel."
        with store.session() as s:
            s.execute(Article.__table__.insert(), rows)
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE articles"))
        yield store
        store.dispose()


def test_the_gin_index_exists_and_the_search_query_uses_it(pg_store):
    with pg_store.engine.connect() as conn:
        index = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_articles_search_english'"))
        assert "USING gin" in index.scalar_one()
        plan = "\n".join(conn.execute(text(
            f"EXPLAIN SELECT a.id FROM articles a WHERE {PG_DOCUMENT} @@ websearch_to_tsquery('english', :q)"),
            {"q": "tariffs"}).scalars())
    assert "ix_articles_search_english" in plan and "Seq Scan" not in plan, plan


def test_results_match_stems_and_say_why(pg_store):
    results = search(pg_store, "tariff")
    assert results.total == 2
    by_title = {h.title: h for h in results.hits}
    assert by_title["Steel tariffs raised"].why[0] == "title: tariffs"
    body_hit = next(h for h in results.hits if h.title != "Steel tariffs raised")
    assert body_hit.why == ["text: tariffs"] and "<mark>tariffs</mark>" in body_hit.snippet
    paged = search(pg_store, "harvest", source="Wire", page=3)
    assert paged.total == 2500 and paged.pages == 125 and len(paged.hits) == 20
    assert all(h.source == "Wire" for h in paged.hits)
    assert search(pg_store, "tariff", since=date(2000, 1, 1)).total == 2  # undated: their ingestion time counts
    assert search(pg_store, "tariff", until=date(2000, 1, 1)).total == 0
    assert search(pg_store, "tariff\x00", source="Wi\x00re").total == 0  # a NUL in a query string is not a server error
