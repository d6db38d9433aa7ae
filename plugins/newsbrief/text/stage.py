"""The summary stage: each article's summary for an algorithm and length, computed once and stored.

Before summarizing, each article's lines and sentences are recorded per source (`template_lines`), so a
line that recurs across a source's articles (a feed's sign-up prompt, a blog's "The post ... appeared
first on ...", a series intro) is learned as that source's furniture and never becomes a summary
sentence; the tagger can ask for the same set with `template_keys`. Only a source's newest
`TEMPLATE_WINDOW` articles are kept.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import load_only

from newsbrief.store import Article, Store, Summary, TemplateLine
from newsbrief.store.inserts import insert_new
from newsbrief.text.furniture import TEMPLATE_MIN_ARTICLES, template_candidates
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
    rows = session.execute(select(Article).options(load_only(Article.id, Article.title, Article.text, Article.origin,
                                                             Article.source_kind, Article.url, Article.source))
                           .where(Article.id.in_(ids))).scalars()
    by_id = {a.id: a for a in rows}
    missing = [i for i in ids if i not in by_id]
    if missing:
        log.warning("articles %s are no longer in the store: skipped", ", ".join(map(str, missing)))
    return [by_id[i] for i in ids if i in by_id]


def source_key(article: Article) -> str:
    """The source whose template an article shares: its feed, else the site (host of its URL, or the
    folder of a seed file)."""
    if article.source_kind == "feed" and article.origin:
        return "feed:" + article.origin
    if article.url:
        return "site:" + (urlsplit(article.url).hostname or article.url)
    return "site:" + (article.origin or article.source).rsplit("/", 1)[0]


TEMPLATE_WINDOW = 200
"""Template lines are kept for a source's newest this-many articles (by id, i.e. in the order they were
stored), so the store stays bounded (about 30 keys an article) and a template is what the source repeats
now: its furniture recurs in nearly every item, so three of the last 200 is always met, while a real
sentence must recur in three stories of that window to be taken for template text (two quoting it never
suffice; see `TEMPLATE_MIN_ARTICLES`)."""


def learn_templates(session, articles: list[Article], window: int = TEMPLATE_WINDOW) -> None:
    """Record the line and sentence keys of articles not yet recorded (idempotent per article), then drop
    the keys of articles that fell out of their source's window."""
    ids = [a.id for a in articles]
    if not ids:
        return
    known = set(session.execute(select(TemplateLine.article_id).where(TemplateLine.article_id.in_(ids))
                                .distinct()).scalars())
    touched: set[str] = set()
    for article in articles:
        if article.id in known:
            continue
        source = source_key(article)
        touched.add(source)
        insert_new(session, TemplateLine, [{"source": source, "key": key, "article_id": article.id}
                                           for key in sorted(template_candidates(article.text, article.title))])
    session.flush()
    for source in sorted(touched):
        cutoff = session.execute(select(TemplateLine.article_id).where(TemplateLine.source == source).distinct()
                                 .order_by(TemplateLine.article_id.desc()).offset(window - 1).limit(1)).scalar()
        if cutoff is not None:
            session.execute(delete(TemplateLine).where(TemplateLine.source == source,
                                                       TemplateLine.article_id < cutoff))


def template_keys(session, source: str) -> frozenset[str]:
    """The learned template keys of a source (`source_key`): lines and sentences seen in at least
    `TEMPLATE_MIN_ARTICLES` of its articles. Compare with `newsbrief.text.furniture.template_key(text,
    title)`; such text is never a summary sentence and should never be tag evidence."""
    rows = session.execute(select(TemplateLine.key).where(TemplateLine.source == source)
                           .group_by(TemplateLine.key)
                           .having(func.count(func.distinct(TemplateLine.article_id)) >= TEMPLATE_MIN_ARTICLES))
    return frozenset(rows.scalars())


def summarize_articles(store: Store, article_ids: list[int], *, algorithm: str = DEFAULT_ALGORITHM,
                       sentences: int = 3, batch: int = BATCH) -> list[int]:
    """Learn the template lines of every article first, then compute (or keep) each summary: one query
    and one transaction per batch of ids, bulk inserts."""
    for ids in batches(article_ids, batch):
        with store.session() as s:
            learn_templates(s, load_articles(s, ids))
    templates: dict[str, frozenset[str]] = {}
    for ids in batches(article_ids, batch):
        with store.session() as s:
            known = set(s.scalars(select(Summary.article_id).where(
                Summary.article_id.in_(ids), Summary.algorithm == algorithm, Summary.sentences == sentences)))
            todo = [i for i in ids if i not in known]
            if not todo:
                continue
            rows = []
            for article in load_articles(s, todo):
                source = source_key(article)
                if source not in templates:
                    templates[source] = template_keys(s, source)
                rows.append({"article_id": article.id, "algorithm": algorithm, "sentences": sentences,
                             "text": _summary_text(article, algorithm, sentences, templates[source])})
            insert_new(s, Summary, rows)
    return article_ids


def _summary_text(article: Article, algorithm: str, sentences: int, templates: frozenset[str]) -> list[str]:
    text = summarize(article.text, title=article.title, sentences=sentences, algorithm=algorithm,
                     templates=templates)
    if not text:
        log.warning("article %s (%s) has no sentence to summarize", article.id, article.origin)
    return text


def stored_summary(session, article: Article, algorithm: str, sentences: int,
                   templates: frozenset[str] | None = None) -> list[str]:
    row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                Summary.sentences == sentences)).scalar_one_or_none()
    if row is None:
        if templates is None:
            templates = template_keys(session, source_key(article))
        insert_new(session, Summary, [{"article_id": article.id, "algorithm": algorithm, "sentences": sentences,
                                       "text": _summary_text(article, algorithm, sentences, templates)}])
        row = session.execute(select(Summary).where(Summary.article_id == article.id, Summary.algorithm == algorithm,
                                                    Summary.sentences == sentences)).scalar_one()
    return list(row.text)
