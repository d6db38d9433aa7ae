"""Full-text search over stored articles: SQLite FTS5 in the embedded store, PostgreSQL's own text search.

The FTS5 index is the web app's own (a virtual table it creates and tops up with articles stored since
its last query), so the pipeline's stages do not pay for it. On PostgreSQL the query matches
`PG_DOCUMENT @@ websearch_to_tsquery(...)`, and revision 0005_search_index builds a GIN index on exactly
that expression, so the planner answers from the index instead of reading every article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape

from markupsafe import Markup
from sqlalchemy import text

from newsbrief.store import Store

PAGE_SIZE = 20
PG_DOCUMENT = "to_tsvector('english', a.title || ' ' || a.text)"  # the index's expression, keep in step
_OPEN, _CLOSE = "\x02", "\x03"


@dataclass
class Hit:
    article_id: int
    title: str
    source: str
    published: object
    snippet: Markup
    why: list[str] = field(default_factory=list)


@dataclass
class Results:
    total: int
    hits: list[Hit]
    pages: int


def _marked(snippet: str) -> tuple[Markup, list[str]]:
    words = sorted({w.lower() for w in re.findall(f"{_OPEN}(.*?){_CLOSE}", snippet, flags=re.S)})
    html = escape(snippet).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
    return Markup(html), words


def _fts_query(q: str) -> str:
    """The user's words as an FTS5 query: every word must occur (prefix-free, quoted so no syntax leaks)."""
    words = re.findall(r"\w+", q)
    return " ".join(f'"{w}"' for w in words)


def _sync_sqlite(conn) -> None:
    conn.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(title, body, "
                      "tokenize='porter unicode61')"))
    conn.execute(text("INSERT INTO articles_fts(rowid, title, body) SELECT id, title, text FROM articles "
                      "WHERE id > (SELECT coalesce(max(rowid), 0) FROM articles_fts) ORDER BY id"))


def _bound(dialect: str, day: date) -> object:
    """Midnight UTC of `day` as the column compares: SQLite keeps SQLAlchemy's text form, PostgreSQL a timestamptz."""
    at = datetime.combine(day, time(), UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else at


def search(store: Store, q: str, *, topic: str | None = None, source: str | None = None, page: int = 1,
           since: date | None = None, until: date | None = None) -> Results:
    """Articles matching `q`, newest-relevant first; `since`/`until` bound the publication day (inclusive),
    the ingestion time standing in for articles without a date."""
    q, topic, source = (v.replace("\x00", " ") if v else v for v in (q, topic, source))  # PostgreSQL refuses NUL
    filters, params = "", {"limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
    if topic:
        filters += " AND EXISTS (SELECT 1 FROM tags t WHERE t.article_id = a.id AND t.tag = :topic)"
        params["topic"] = topic
    if source:
        filters += " AND a.source = :source"
        params["source"] = source
    with store.engine.begin() as conn:
        if since:
            filters += " AND coalesce(a.published_at, a.ingested_at) >= :since"
            params["since"] = _bound(conn.dialect.name, since)
        if until:
            filters += " AND coalesce(a.published_at, a.ingested_at) < :until"
            params["until"] = _bound(conn.dialect.name, until + timedelta(days=1))
        if conn.dialect.name == "sqlite":
            match = _fts_query(q)
            if not match:
                return Results(0, [], 0)
            _sync_sqlite(conn)
            params["q"] = match
            base = f"FROM articles_fts f JOIN articles a ON a.id = f.rowid WHERE articles_fts MATCH :q{filters}"
            total = conn.execute(text(f"SELECT count(*) {base}"), params).scalar_one()
            rows = conn.execute(text(
                f"SELECT a.id, a.title, a.source, a.published_at, "
                f"snippet(articles_fts, 1, '{_OPEN}', '{_CLOSE}', '…', 16) AS snip, "
                f"highlight(articles_fts, 0, '{_OPEN}', '{_CLOSE}') AS title_marked "
                f"{base} ORDER BY bm25(articles_fts), a.id DESC LIMIT :limit OFFSET :offset"), params).all()
        else:
            params["q"] = q
            doc = PG_DOCUMENT
            base = f"FROM articles a WHERE {doc} @@ websearch_to_tsquery('english', :q){filters}"
            total = conn.execute(text(f"SELECT count(*) {base}"), params).scalar_one()
            rows = conn.execute(text(
                f"SELECT a.id, a.title, a.source, a.published_at, ts_headline('english', a.text, "
                f"websearch_to_tsquery('english', :q), 'StartSel=\x02, StopSel=\x03, MaxWords=30') AS snip, "
                f"ts_headline('english', a.title, websearch_to_tsquery('english', :q), "
                f"'StartSel=\x02, StopSel=\x03, HighlightAll=true') AS title_marked {base} "
                f"ORDER BY ts_rank({doc}, websearch_to_tsquery('english', :q)) DESC, a.id DESC "
                f"LIMIT :limit OFFSET :offset"), params).all()
    hits = []
    for row in rows:
        snippet, words = _marked(row.snip or "")
        _, title_words = _marked(row.title_marked or "")
        why = [f"title: {', '.join(title_words)}"] if title_words else []
        if words:
            why.append(f"text: {', '.join(words)}")
        hits.append(Hit(row.id, row.title, row.source, row.published_at, snippet, why))
    return Results(total, hits, (total + PAGE_SIZE - 1) // PAGE_SIZE)
